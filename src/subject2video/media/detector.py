"""The service's face detector: MediaPipe's full-range BlazeFace, run on the CPU with LiteRT.

It finds faces far from the camera (small faces in wide and group shots) that dlib's HOG detector
misses; dlib stays only in `s2v eval`, as the independent measurer. The model ships in `models/`
(Apache-2.0, see `models/NOTICE`). Its input, anchors and decoding are those of MediaPipe's
`face_detection_full_range.pbtxt` graph: a 192x192 letterboxed input in [-1, 1], one anchor per cell
of a 48x48 grid (stride 4, fixed size), boxes and six keypoints relative to the anchor scaled by
192, a sigmoid score kept from 0.6, then weighted non-maximum suppression at IoU 0.3.

A photo is read whole and, when its faces could be too small for one 192-px view, also in levels
of overlapping tiles, the finest small enough for a face of 60 px whatever the photo's size; the
detections of all views are merged. Where nothing is found, the photo is read once more inside a
grey frame twice its size, for a face that fills the photo.

Example::

    faces = get_detector().detect(image)  # largest first
    faces[0].box, faces[0].score  # (left, top, right, bottom) in the photo's pixels; 0-1
"""

from __future__ import annotations

import functools
import logging
import threading
from pathlib import Path

import cv2
import numpy as np

from subject2video.contract import IMAGE_PARAM
from subject2video.errors import ImageError
from subject2video.media.subject import Face

logger = logging.getLogger(__name__)

MODEL = Path(__file__).parent / "models" / "face_detection_full_range_sparse.tflite"
SIDE = 192
GRID = 48  # SIDE / stride 4
#: MediaPipe's own score threshold for this model.
MIN_SCORE = 0.6
NMS_IOU = 0.3
#: Tiles are used when the photo's long side is above this (a face of 60 px in a photo of this
#: size is about 14 px in the whole view).
TILE_ABOVE = 800
#: The least face height (the detector's box, in the photo's pixels) a task animates.
MIN_FACE_PX = 60
#: Tiles overlap by this share of their side, so that a face on a seam is whole in one of them.
TILE_OVERLAP = 0.25
#: The finest tiles are at most this long: a face of MIN_FACE_PX is then 12 px or more in the
#: model's view, which finds it (`tile_counts`).
FINEST_TILE = 960
#: Each level of tiles at most this many times smaller than the one before (`tile_counts`; a
#: 4000x3000 photo is read whole, in 3x3 tiles and in 6x6).
LEVEL_STEP = 3.0


def _anchors() -> np.ndarray:
    """(2304, 2) anchor centres in [0, 1], row by row (SsdAnchorsCalculator, one layer)."""
    ys, xs = np.mgrid[0:GRID, 0:GRID]
    return np.stack([(xs.ravel() + 0.5) / GRID, (ys.ravel() + 0.5) / GRID], axis=1)


_ANCHORS = _anchors()


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def weighted_nms(boxes: np.ndarray, scores: np.ndarray) -> list[tuple[np.ndarray, float]]:
    """MediaPipe's WEIGHTED suppression: each cluster (IoU > 0.3 with its best) becomes the
    score-weighted mean of its boxes, with the best score."""
    order = np.argsort(-scores)
    boxes, scores = boxes[order], scores[order]
    left = np.ones(len(boxes), bool)
    kept = []
    for i in range(len(boxes)):
        if not left[i]:
            continue
        cluster = left & (_iou(boxes[i], boxes) > NMS_IOU)
        cluster[i] = True
        weights = scores[cluster][:, None]
        kept.append(((boxes[cluster] * weights).sum(0) / weights.sum(), float(scores[i])))
        left &= ~cluster
    return kept


class FaceDetector:
    """One LiteRT interpreter for the full-range detector; `detect()` is thread-safe."""

    def __init__(self) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self._lock = threading.Lock()
        self._interpreter = Interpreter(model_path=str(MODEL), num_threads=1)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = {int(d["shape"][-1]): d["index"] for d in self._interpreter.get_output_details()}
        self._boxes, self._scores = outputs[16], outputs[1]

    def _view(self, view: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Boxes (N, 4: x0, y0, x1, y1 in the view's pixels) and scores kept in one view."""
        h, w = view.shape[:2]
        scale = SIDE / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        small = cv2.resize(view, size, interpolation=cv2.INTER_AREA)
        # Letterboxed, centred, zero border (BORDER_ZERO in [-1, 1] is 0, mid grey).
        tensor = np.zeros((SIDE, SIDE, 3), np.float32)
        ox, oy = (SIDE - size[0]) // 2, (SIDE - size[1]) // 2
        tensor[oy : oy + size[1], ox : ox + size[0]] = small.astype(np.float32) / 127.5 - 1.0
        with self._lock:
            self._interpreter.set_tensor(self._input, tensor[None])
            self._interpreter.invoke()
            raw = self._interpreter.get_tensor(self._boxes).reshape(-1, 16)
            logits = self._interpreter.get_tensor(self._scores).reshape(-1)
        # The sigmoid of the clipped logit (score_clipping_thresh 100), written without overflow.
        scores = 0.5 * (1.0 + np.tanh(0.5 * np.clip(logits.astype(np.float64), -100.0, 100.0)))
        keep = scores >= MIN_SCORE
        raw, scores, anchors = raw[keep], scores[keep], _ANCHORS[keep]
        cx = raw[:, 0] / SIDE + anchors[:, 0]
        cy = raw[:, 1] / SIDE + anchors[:, 1]
        bw, bh = raw[:, 2] / SIDE, raw[:, 3] / SIDE
        boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1) * SIDE
        boxes -= np.array([ox, oy, ox, oy], np.float32)
        return boxes / scale, scores

    def detect(self, image: np.ndarray) -> list[Face]:
        """The faces in an RGB uint8 image, largest first, in its own pixels, with scores 0-1."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            got = f"{image.dtype} {image.shape}"
            raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {got}")
        h, w = image.shape[:2]
        all_boxes, all_scores = [], []
        for x0, y0, x1, y1 in _views(w, h):
            boxes, scores = self._view(image[y0:y1, x0:x1])
            # A face cut by a tile's inner edge is only part of a face: the view that holds it
            # whole (the image, or a neighbouring tile) finds it.
            inner = np.ones(len(boxes), bool)
            if x0 > 0:
                inner &= boxes[:, 0] > 2
            if y0 > 0:
                inner &= boxes[:, 1] > 2
            if x1 < w:
                inner &= boxes[:, 2] < x1 - x0 - 2
            if y1 < h:
                inner &= boxes[:, 3] < y1 - y0 - 2
            boxes, scores = boxes[inner], scores[inner]
            all_boxes.append(boxes + np.array([x0, y0, x0, y0], np.float32))
            all_scores.append(scores)
        boxes, scores = np.concatenate(all_boxes), np.concatenate(all_scores)
        if not len(boxes):
            # A face that fills the photo (a tight crop, a selfie) is larger than the model's
            # anchors expect: look again with the photo set in a frame twice its size. The view
            # is 192 px, so the photo is first shrunk to at most twice that (a 4000x10000 photo
            # framed at full size is an 840 MB array).
            shrink = min(1.0, 2 * SIDE / max(h, w))
            small = image
            if shrink < 1.0:
                size = (max(1, round(w * shrink)), max(1, round(h * shrink)))
                small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            pad = max(small.shape[:2]) // 2
            framed = cv2.copyMakeBorder(
                small, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(128, 128, 128)
            )
            boxes, scores = self._view(framed)
            boxes = (boxes - np.float32(pad)) / np.float32(shrink)
        faces = []
        for box, score in weighted_nms(boxes, scores) if len(boxes) else []:
            left, top = max(0, round(float(box[0]))), max(0, round(float(box[1])))
            right, bottom = min(w, round(float(box[2]))), min(h, round(float(box[3])))
            if right - left >= 4 and bottom - top >= 4:
                faces.append(Face(box=(left, top, right, bottom), score=score))
        faces.sort(key=lambda face: face.area, reverse=True)
        return faces

    def subject(
        self, image: np.ndarray, *, parameter: str = IMAGE_PARAM, min_px: int = MIN_FACE_PX
    ) -> Face:
        """The largest face in the image, or an ImageError that names `parameter` (no face, or
        the largest under `min_px` tall, with the size found and the size needed)."""
        faces = self.detect(image)
        if not faces:
            raise ImageError(
                f"Request parameter [{parameter}] must show a human face: "
                "no face was found in the image; use a photo in which the face is seen from "
                f"the front or turned at most 45 degrees, and at least {min_px} px tall",
                parameter=parameter,
            )
        face = faces[0]
        if face.height < min_px:
            raise ImageError(
                f"Request parameter [{parameter}] must show a face at least {min_px} px tall: "
                f"the largest face found is {face.height} px tall; use a photo closer to the "
                "face or at a higher resolution",
                parameter=parameter,
            )
        return face


def _tile_side(side: int, count: int) -> float:
    """The side of `count` tiles across `side`, overlapping by TILE_OVERLAP."""
    return side / (count - (count - 1) * TILE_OVERLAP)


def tile_counts(long_side: int) -> list[int]:
    """The tiles across (and down) of each level of tiles after the whole view, coarse to fine.

    Above TILE_ABOVE, the finest level's tiles are at most FINEST_TILE long, so that a face of
    MIN_FACE_PX is at least 12 px in the model's view. A level holds whole every face up to
    TILE_OVERLAP of its tiles' side (a face on one tile's seam lies inside its neighbour), and
    the model finds faces from 1/16 to 1/14 of the view's side, so each level's tiles are at
    most LEVEL_STEP times smaller than the last's (the whole view's, first): no size of face
    between two levels goes unread."""
    if long_side <= TILE_ABOVE:
        return []
    finest = 2
    while _tile_side(long_side, finest) > FINEST_TILE:
        finest += 1
    counts: list[int] = []
    last, least = float(long_side), _tile_side(long_side, finest)
    while least < last / LEVEL_STEP:
        first = counts[-1] + 1 if counts else 2
        steps = [c for c in range(first, finest) if _tile_side(long_side, c) >= last / LEVEL_STEP]
        # The coarsest level from which the finest is one step, else the finest within a step.
        bridges = [c for c in steps if least >= _tile_side(long_side, c) / LEVEL_STEP]
        count = bridges[0] if bridges else steps[-1]
        counts.append(count)
        last = _tile_side(long_side, count)
    return [*counts, finest]


def _views(w: int, h: int) -> list[tuple[int, int, int, int]]:
    """The whole image, and for large images levels of overlapping tiles (`tile_counts`), each
    tile of the photo's own shape."""
    views = [(0, 0, w, h)]
    for count in tile_counts(max(w, h)):
        tw, th = min(w, round(_tile_side(w, count))), min(h, round(_tile_side(h, count)))
        for i in range(count):
            for j in range(count):
                x0 = round(i * (w - tw) / (count - 1))
                y0 = round(j * (h - th) / (count - 1))
                views.append((x0, y0, x0 + tw, y0 + th))
    return views


@functools.cache
def get_detector() -> FaceDetector:
    """One FaceDetector per process, loaded on first use."""
    logger.debug("loading the face detector from %s", MODEL)
    return FaceDetector()
