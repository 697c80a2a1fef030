"""A contact sheet of a video: evenly spaced frames, each whole and with its face enlarged.

Numbers have missed artefacts that a look finds at once (a torn cheek, a bruise-coloured mouth),
so `s2v eval --sheet out.png` writes one. The face is found in each picked frame by the
evaluator's own detector (dlib), never by the engine's landmarks.

Example::

    image = contact_sheet(read_frames(path), total=150)
    Image.fromarray(image).save("sheet.png")
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from subject2video.media.faces import FaceAnalyzer, get_analyzer

#: Side of one tile (the whole frame fits its width; the enlarged face is square).
TILE = 240
LABEL = (255, 230, 0)


def picks(total: int, count: int = 8) -> list[int]:
    """`count` frame indices spread evenly from the first frame to the last."""
    if total <= 0:
        return []
    count = min(count, total)
    return sorted({round(i * (total - 1) / max(count - 1, 1)) for i in range(count)})


def _face_crop(
    frame: np.ndarray,
    analyzer: FaceAnalyzer,
    around: np.ndarray | None = None,
    reach: float = 0.9,
    box: tuple[float, float, float, float] | None = None,
) -> np.ndarray:
    """A square around the largest face (with its hair and chin), or the frame's centre.

    With `around`, the square is placed on that frame's face instead (the same crop for a run
    of frames, so that motion shows as motion); with `box`, on that face box (the subject as a
    measurer tracked it). `reach` is half the square's side in face sizes.
    """
    h, w = frame.shape[:2]
    if box is None:
        faces = analyzer.detect(frame if around is None else around)
        box = faces[0].box if faces else None
    if box is not None:
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        half = reach * max(box[2] - box[0], box[3] - box[1])
    else:
        cx, cy, half = w / 2, h / 2, min(w, h) / 4
    x0, y0 = int(max(0, cx - half)), int(max(0, cy - 1.1 * half))
    x1, y1 = int(min(w, cx + half)), int(min(h, cy + 0.9 * half))
    crop = frame[y0:y1, x0:x1]
    return cv2.resize(crop, (TILE, TILE), interpolation=cv2.INTER_CUBIC)


def _whole(frame: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    scale = TILE / max(h, w)
    small = cv2.resize(frame, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    tile = np.zeros((TILE, TILE, 3), np.uint8)
    y0, x0 = (TILE - small.shape[0]) // 2, (TILE - small.shape[1]) // 2
    tile[y0 : y0 + small.shape[0], x0 : x0 + small.shape[1]] = small
    return tile


def contact_sheet(
    frames: Iterable[np.ndarray],
    total: int,
    count: int = 8,
    analyzer: FaceAnalyzer | None = None,
    boxes: Sequence[tuple[float, float, float, float] | None] | None = None,
) -> np.ndarray:
    """The sheet (RGB uint8): a row of whole frames over a row of their enlarged faces: the
    subject's face where `boxes` (per frame, from `quality.evaluate`'s tracking) has it, where
    it was last found (or first) where the tracking lost it (a face turned away), else the
    frame's largest."""
    analyzer = analyzer or get_analyzer()
    wanted = set(picks(total, count))
    if boxes is not None:
        # Each frame's box, or the last one found (before the first, the first).
        last = next((b for b in boxes if b is not None), None)
        held = []
        for box in boxes:
            last = box or last
            held.append(last)
        boxes = held
    top, bottom = [], []
    for index, frame in enumerate(frames):
        if index not in wanted:
            continue
        box = boxes[index] if boxes is not None and index < len(boxes) else None
        whole, face = _whole(frame), _face_crop(frame, analyzer, box=box)
        cv2.putText(whole, f"frame {index}", (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, LABEL, 1)
        top.append(whole)
        bottom.append(face)
    if not top:
        raise ValueError("the video has no frames")
    return np.concatenate([np.concatenate(top, axis=1), np.concatenate(bottom, axis=1)], axis=0)


# -- open mouths beside real ones ----------------------------------------------------------------

#: How many of the video's most open mouths the mouth row shows.
OPEN_MOUTHS = 4


def mouth_crop(image: np.ndarray, landmarks: np.ndarray, size: int = TILE) -> np.ndarray:
    """The mouth (dlib points 48-67) in a square half again as wide as the lips, enlarged to
    `size` (cubic), so teeth, tongue and inner lips can be looked at."""
    lips = np.asarray(landmarks, np.float64)[48:68]
    cx, cy = lips.mean(0)
    half = 0.75 * max(np.ptp(lips[:, 0]), 1.6 * np.ptp(lips[:, 1]), 8.0)
    h, w = image.shape[:2]
    x0, y0 = int(max(0, cx - half)), int(max(0, cy - half))
    x1, y1 = int(min(w, cx + half)), int(min(h, cy + half))
    return cv2.resize(image[y0:y1, x0:x1], (size, size), interpolation=cv2.INTER_CUBIC)


def _gap(landmarks: np.ndarray) -> float:
    """The inner-lip gap over the eye distance (quality/speech.py's measure, for one frame)."""
    p = np.asarray(landmarks, np.float64)
    eyes = float(np.linalg.norm(p[42:48].mean(0) - p[36:42].mean(0)))
    return max(0.0, float(np.mean(p[[67, 66, 65], 1] - p[[61, 62, 63], 1]))) / max(eyes, 1e-6)


def _labelled(tile: np.ndarray, text: str) -> np.ndarray:
    tile = np.ascontiguousarray(tile)
    tile[:26] = tile[:26] // 3  # a dark band: the label stays legible on skin
    cv2.putText(tile, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, LABEL, 1)
    return tile


def mouth_row(
    frames: Iterable[np.ndarray],
    photos: Iterable[tuple[str, np.ndarray]],
    analyzer: FaceAnalyzer | None = None,
    *,
    step: int = 2,
    count: int = OPEN_MOUTHS,
) -> np.ndarray:
    """A row of the video's `count` most open mouths (every `step`-th frame measured by dlib,
    never the engine's mesh) beside the mouths of real photos (`photos`: (label, RGB)), each
    enlarged to a tile and labelled with its frame and gap. RGB uint8, one tile high."""
    analyzer = analyzer or get_analyzer()
    measured: list[tuple[float, int, np.ndarray]] = []
    for index, frame in enumerate(frames):
        if index % step:
            continue
        faces = analyzer.detect(frame)
        if faces and faces[0].landmarks is not None:
            marks = faces[0].landmarks
            measured.append((_gap(marks), index, mouth_crop(frame, marks)))
    measured.sort(key=lambda m: -m[0])
    tiles = [
        _labelled(crop, f"video f{index} gap {gap:.2f}")
        for gap, index, crop in sorted(measured[:count], key=lambda m: m[1])
    ]
    for label, photo in photos:
        faces = analyzer.detect(photo)
        if faces and faces[0].landmarks is not None:
            marks = faces[0].landmarks
            crop = mouth_crop(photo, marks)
            tiles.append(_labelled(crop, f"photo {label[:14]} gap {_gap(marks):.2f}"))
    if not tiles:
        raise ValueError("no face was found in the video or the photos")
    return np.concatenate(tiles, axis=1)


def stack(rows: list[np.ndarray]) -> np.ndarray:
    """Rows of tiles one over another, each padded with black to the widest."""
    width = max(r.shape[1] for r in rows)
    padded = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in rows]
    return np.concatenate(padded, axis=0)
