"""The subject's learned matte: MediaPipe's selfie segmentation, refined at the edges, one person.

1. The model (`models/selfie_segmentation.tflite`, Apache-2.0, 256x256, ~10 ms under LiteRT) reads
   a window around the subject's head and shoulders (the face box enlarged, down to the photo's
   bottom edge), so a small face in a wide shot still gets 256 px of model input.
2. The model is single-class: it takes in other people and things held in front. Only the region
   connected to the subject's face is kept, within a generous head-and-shoulders envelope (a
   neighbour touching the subject's shoulder is cut at the envelope); everyone else stays in the
   background plate. The face box's ellipse is the subject only where the model misses most of
   the face: on a face turned in the photo it reaches past the profile onto the background.
3. Edges: the model's soft mask, enlarged, is refined by a guided filter with the photo as guide
   (He et al. 2010), which snaps the edge to the photo's own edges at hair and ears, then clipped
   to [0, 1]. Inside and outside stay as the model says.

Example::

    alpha = person_matte(image, face_box=(172, 66, 278, 172))  # float32 (H, W) in [0, 1]
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

logger = logging.getLogger(__name__)

MODEL = Path(__file__).parent / "models" / "selfie_segmentation.tflite"
SIDE = 256
#: The model's window around the face, in face heights: to each side, above, and below (at most;
#: the photo's bottom edge is always included when it is nearer).
WINDOW = (2.6, 1.4, 5.0)
#: Guided-filter radius (a share of the face height) and regularisation (on 0-1 intensities).
GUIDE_RADIUS = 0.05
GUIDE_EPS = 1e-3
#: The refined edge's contrast about 0.5 (1: as filtered; larger: a narrower soft edge).
EDGE_CONTRAST = 3.0
#: The soft edge reaches at most this many pixels beyond the model's own edge.
FRINGE = 2
#: Where the model finds at least this share of the face box's ellipse, the face is taken as the
#: model has it; below it, the model is taken to have missed the face and the ellipse is forced.
CORE_TRUST = 0.6
#: Gaps in the model's face narrower than this share of the face's width are the face's.
CORE_CLOSE = 0.08
#: Another person's head (face and hair) about their face box, as `_ellipse` takes it: half-axes
#: across and down in their face's sizes, and its centre's lift above the box's.
OTHER_HEAD = (0.7, 0.95, 0.1)


class Segmenter:
    """One LiteRT interpreter for the selfie-segmentation model; `mask()` is thread-safe."""

    def __init__(self) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self._lock = threading.Lock()
        self._interpreter = Interpreter(model_path=str(MODEL), num_threads=1)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]

    def mask(self, image: np.ndarray) -> np.ndarray:
        """The person probability (0-1, float32) of an RGB uint8 image, at the image's size."""
        h, w = image.shape[:2]
        small = cv2.resize(image, (SIDE, SIDE), interpolation=cv2.INTER_AREA)
        with self._lock:
            self._interpreter.set_tensor(self._input, (small.astype(np.float32) / 255.0)[None])
            self._interpreter.invoke()
            out = self._interpreter.get_tensor(self._output).reshape(SIDE, SIDE)
        return cv2.resize(out.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)


@functools.cache
def get_segmenter() -> Segmenter:
    """One Segmenter per process, loaded on first use."""
    return Segmenter()


def window(
    face_box: tuple[float, float, float, float], shape: tuple[int, ...]
) -> tuple[int, int, int, int]:
    """The model's window (left, top, right, bottom) around the subject's head and shoulders."""
    h, w = shape[:2]
    x0, y0, x1, y1 = face_box
    fh = max(y1 - y0, 1.0)
    cx = (x0 + x1) / 2
    side, above, below = WINDOW
    left, right = max(0, round(cx - side * fh)), min(w, round(cx + side * fh))
    top, bottom = max(0, round(y0 - above * fh)), min(h, round(y1 + below * fh))
    return left, top, right, bottom


def envelope(face_box: tuple[float, float, float, float], shape: tuple[int, ...]) -> np.ndarray:
    """A generous head-and-shoulders region (uint8 0/1) that the subject's matte stays inside."""
    h, w = shape[:2]
    x0, y0, x1, y1 = face_box
    fw, fh = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    region = np.zeros((h, w), np.uint8)
    # Head with hair (long hair falls to the shoulders), then shoulders and arms widening down.
    axes = (round(1.25 * fw), round(1.5 * fh))
    cv2.ellipse(region, (round(cx), round(cy - 0.1 * fh)), axes, 0, 0, 360, 1, -1)
    body = np.array(
        [[cx - 1.0 * fw, y1], [cx + 1.0 * fw, y1], [cx + 2.4 * fw, y1 + 1.2 * fh],
         [cx + 2.8 * fw, h + 1], [cx - 2.8 * fw, h + 1], [cx - 2.4 * fw, y1 + 1.2 * fh]],
    )  # fmt: skip
    cv2.fillPoly(region, [np.round(body).astype(np.int32)], 1)
    return region


def guided_filter(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter with a grey guide (0-1 float32) on a float32 source."""
    size = (2 * radius + 1, 2 * radius + 1)

    def mean(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, size, borderType=cv2.BORDER_REFLECT)

    mean_i, mean_p = mean(guide), mean(source)
    cov = mean(guide * source) - mean_i * mean_p
    var = mean(guide * guide) - mean_i * mean_i
    a = cov / (var + eps)
    b = mean_p - a * mean_i
    return mean(a) * guide + mean(b)


def _keep_subject(binary: np.ndarray, seed: tuple[int, int, int, int]) -> np.ndarray:
    """The connected regions of `binary` that meet the seed box (the face's core), uint8 0/1."""
    _count, labels = cv2.connectedComponents(binary, connectivity=8)
    x0, y0, x1, y1 = seed
    core = labels[y0:y1, x0:x1]
    keep = np.unique(core[core > 0])
    if len(keep) == 0:
        return np.zeros_like(binary)
    return np.isin(labels, keep).astype(np.uint8)


def _ellipse(
    box: tuple[float, float, float, float],
    shape: tuple[int, ...],
    across: float,
    down: float,
    lift: float = 0.15,
) -> np.ndarray:
    """An ellipse (uint8 0/1) about the face in `box`: half-axes `across` face widths and `down`
    face heights, its centre `lift` face heights above the box's."""
    x0, y0, x1, y1 = box
    fw, fh = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    region = np.zeros(shape[:2], np.uint8)
    centre = (round((x0 + x1) / 2), round((y0 + y1) / 2 - lift * fh))
    cv2.ellipse(
        region, centre, (max(1, round(across * fw)), max(1, round(down * fh))), 0, 0, 360, 1, -1
    )
    return region


def _nearness(box: tuple[float, float, float, float], xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """How far each pixel is from a person, in their face's sizes: across in face widths, up in
    face heights, down (the body) in 2.5 face heights."""
    x0, y0, x1, y1 = box
    fw, fh = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    dx = (xs - (x0 + x1) / 2) / fw
    dy = ys - (y0 + y1) / 2
    dy = np.where(dy > 0, dy / (2.5 * fh), dy / fh)
    return np.hypot(dx, dy)


def person_matte(
    image: np.ndarray,
    face_box: tuple[float, float, float, float],
    others: list[tuple[float, float, float, float]] | None = None,
    *,
    bounded: bool = True,
) -> np.ndarray:
    """The subject's alpha in [0, 1], float32 (H, W): the person whose face is in `face_box`.

    `others` are the boxes of the other faces in the photo: a pixel nearer another person (in
    their face's sizes) than the subject is never the subject's, even where their bodies touch.
    `bounded=False` reads the whole image and keeps all of the person connected to the face (no
    window, no envelope): what a measurer wants, seeing everything that moves with the subject."""
    return person_layers(image, face_box, others, bounded=bounded).alpha


@dataclass(frozen=True)
class Layers:
    """The subject's matte, and the people (or things) the model found that are not the
    subject's."""

    #: The subject's alpha in [0, 1], float32 (H, W).
    alpha: np.ndarray
    #: Where the model reads a person that is not the subject (uint8 0/1, (H, W)): other people,
    #: and what the envelope or a neighbour's nearness cut from the subject's person (a held
    #: helmet, a neighbour's face just behind the subject's hair). The plate keeps the photo
    #: there: what lies beyond such a cut stays as it is, with no fill along the cut.
    others: np.ndarray


def person_layers(
    image: np.ndarray,
    face_box: tuple[float, float, float, float],
    others: list[tuple[float, float, float, float]] | None = None,
    *,
    bounded: bool = True,
) -> Layers:
    """`person_matte`'s alpha, with what it left out of the subject (`Layers`)."""
    h, w = image.shape[:2]
    left, top, right, bottom = window(face_box, image.shape) if bounded else (0, 0, w, h)
    crop = np.ascontiguousarray(image[top:bottom, left:right])
    prob = get_segmenter().mask(crop)
    x0, y0, x1, y1 = face_box
    fw, fh = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    # The subject: the region meeting the face's core, inside the head-and-shoulders envelope,
    # and nearer the subject than anyone else.
    box = (x0 - left, y0 - top, x1 - left, y1 - top)  # the face box in the window
    env = envelope(box, crop.shape)
    core = _ellipse(box, crop.shape, 0.42, 0.5, 0.0)  # the face itself
    if not bounded:
        env[:] = 1
    if others:
        ys, xs = np.mgrid[top:bottom, left:right].astype(np.float32)
        mine = _nearness(face_box, xs, ys)
        # The subject's own head and hair are not given away, except to another's own head: a
        # face just behind the subject's shoulder or hair would otherwise be cut in two, half of
        # it turning with the subject's head.
        head = _ellipse(box, env.shape, 1.0, 1.3)
        for ox0, oy0, ox1, oy1 in others:
            theirs = _ellipse(
                (ox0 - left, oy0 - top, ox1 - left, oy1 - top), env.shape, *OTHER_HEAD
            )
            nearer = _nearness((ox0, oy0, ox1, oy1), xs, ys) < mine
            env[nearer & ((head == 0) | (theirs > 0)) & (core == 0)] = 0
    binary = ((prob > 0.5) & (env > 0)).astype(np.uint8)
    cx, cy = (x0 + x1) / 2 - left, (y0 + y1) / 2 - top
    seed = (
        max(0, round(cx - 0.2 * fw)), max(0, round(cy - 0.2 * fh)),
        max(1, round(cx + 0.2 * fw)), max(1, round(cy + 0.2 * fh)),
    )  # fmt: skip
    region = _keep_subject(binary, seed)
    # The face itself is the subject even where the model misses it (a face in deep shadow):
    # then the face box's ellipse is taken. Where the model found most of that ellipse, its own
    # edge stands: on a face turned in the photo the ellipse reaches past the profile onto the
    # background (a window beside a turned man's nose), which would then turn with the head.
    if region.any() and float(np.mean(prob[core > 0] > 0.5)) >= CORE_TRUST:
        # Closed first: a speck of the face the model misses, open to the background through a
        # gap of a pixel or two, is no hole to fill below, and would show the plate's fill.
        size = max(3, round(CORE_CLOSE * fw)) | 1
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
        core &= cv2.morphologyEx(region, cv2.MORPH_CLOSE, kernel)
    region |= core
    # Small holes (specks of the face or hair read as background) are filled; large ones (the
    # background between an arm and the body) stay.
    holes = keep_holes_over(region, 0.02 * fw * fh)
    region = np.where(holes, region, 1).astype(np.uint8)
    # Near the kept region, the model's own soft values; away from it, nothing.
    grown = cv2.dilate(region, np.ones((5, 5), np.uint8), iterations=max(1, round(0.02 * fh)))
    soft = np.maximum(np.where(grown > 0, prob, 0.0), core).astype(np.float32)
    soft[(region > 0) & (prob < 0.5)] = 1.0  # filled holes
    guide = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    radius = max(2, round(GUIDE_RADIUS * fh))
    # The filter follows the photo's edges; the contrast after it keeps the soft edge to a few
    # pixels, so that little of the plate's fill shows through it.
    refined = guided_filter(guide, soft, radius, GUIDE_EPS)
    refined = np.clip((refined - 0.5) * EDGE_CONTRAST + 0.5, 0.0, 1.0)
    # Nothing beyond a few pixels outside the model's edge: a soft tail there would carry the
    # background's colours along with the head (a halo).
    near = cv2.dilate(region, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * FRINGE + 1,) * 2))
    refined[near == 0] = 0.0
    alpha = np.zeros((h, w), np.float32)
    alpha[top:bottom, left:right] = refined
    # A window cut short of the photo's sides or top: nothing of the subject lies beyond it.
    beyond = np.zeros((h, w), np.uint8)
    beyond[top:bottom, left:right] = (prob > 0.5) & (region == 0) & (refined <= 0.02)
    return Layers(alpha, beyond)


def keep_holes_over(region: np.ndarray, area: float) -> np.ndarray:
    """A mask (bool) that is False on the holes of `region` smaller than `area` pixels."""
    inverse = (region == 0).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(inverse, connectivity=4)
    small = np.zeros(count, bool)
    for label in range(1, count):
        x, y, bw, bh, size = stats[label]
        touches = x == 0 or y == 0 or x + bw >= region.shape[1] or y + bh >= region.shape[0]
        small[label] = size < area and not touches
    return ~small[labels]
