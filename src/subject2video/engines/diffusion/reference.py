"""The VACE reference image: the subject's head and shoulders, cut out, on a plain white background.

VACE takes the subject as pixels and works best with the subject alone on white (VACE #82). The
matte here is simple: a head ellipse (or the landmarks' hull, raised for hair) and a shoulder
ellipse as the prior, refined by GrabCut and feathered. `subject_matte` is the seam where the
portrait engine's matte (issue 3) can replace it: same inputs, same float matte out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import cv2
import numpy as np
from PIL import Image

from subject2video.engines.base import Face

logger = logging.getLogger(__name__)

#: A matte function: (RGB image, face) -> float32 matte in [0, 1] of the image's height and width.
MatteFn = Callable[[np.ndarray, Face], np.ndarray]
BACKGROUND = (255, 255, 255)
#: GrabCut runs on a copy of the crop whose long side is at most this.
_GRABCUT_SIDE = 320


def crop_box(face: Face, image_shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """The head-and-shoulders box (left, top, right, bottom) around a face, inside the image."""
    height, width = image_shape[:2]
    cx, _ = face.center
    fw, fh = face.width, face.height
    left = max(0, round(cx - 1.7 * fw))
    right = min(width, round(cx + 1.7 * fw))
    top = max(0, round(face.box[1] - 0.8 * fh))
    bottom = min(height, round(face.box[3] + 1.6 * fh))
    return left, top, right, bottom


def prior_mask(face: Face, image_shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(probable subject, sure subject) masks, uint8 0/1, from the face box and landmarks."""
    height, width = image_shape[:2]
    probable = np.zeros((height, width), np.uint8)
    sure = np.zeros((height, width), np.uint8)
    cx, cy = face.center
    fw, fh = face.width, face.height
    # Head with hair: taller than the detector's box, which stops at the brows.
    head_center = (round(cx), round(cy - 0.15 * fh))
    cv2.ellipse(probable, head_center, (round(0.72 * fw), round(0.85 * fh)), 0, 0, 360, 1, -1)
    # Neck and shoulders: a wide ellipse whose top sits under the chin.
    chin = face.box[3]
    shoulders = (round(cx), round(chin + 1.25 * fh))
    cv2.ellipse(probable, shoulders, (round(1.6 * fw), round(1.0 * fh)), 0, 0, 360, 1, -1)
    neck = np.array(
        [[cx - 0.4 * fw, chin - 0.2 * fh], [cx + 0.4 * fw, chin - 0.2 * fh],
         [cx + 0.5 * fw, chin + 0.5 * fh], [cx - 0.5 * fw, chin + 0.5 * fh]],
        np.int32,
    )  # fmt: skip
    cv2.fillConvexPoly(probable, neck, 1)
    if face.landmarks is not None and len(face.landmarks) >= 3:
        hull = cv2.convexHull(np.round(face.landmarks).astype(np.int32))
        cv2.fillConvexPoly(sure, hull, 1)
    else:
        inner = (round(0.35 * fw), round(0.4 * fh))
        cv2.ellipse(sure, (round(cx), round(cy)), inner, 0, 0, 360, 1, -1)
    return probable, sure


def subject_matte(image: np.ndarray, face: Face) -> np.ndarray:
    """A float32 matte in [0, 1] of the person: the prior refined by GrabCut, feathered."""
    probable, sure = prior_mask(face, image.shape)
    left, top, right, bottom = crop_box(face, image.shape)
    crop = np.ascontiguousarray(image[top:bottom, left:right])
    prior = probable[top:bottom, left:right]
    certain = sure[top:bottom, left:right]
    hard = _grabcut(crop, prior, certain)
    matte = np.zeros(image.shape[:2], np.float32)
    sigma = max(1.0, 0.03 * face.width)
    matte[top:bottom, left:right] = cv2.GaussianBlur(hard.astype(np.float32), (0, 0), sigma)
    return np.clip(matte, 0.0, 1.0)


def _grabcut(crop: np.ndarray, prior: np.ndarray, sure: np.ndarray) -> np.ndarray:
    """Refine the prior with GrabCut on a reduced copy; falls back to the prior where it fails."""
    height, width = crop.shape[:2]
    scale = min(1.0, _GRABCUT_SIDE / max(height, width))
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    mask = np.full(small.shape[:2], cv2.GC_PR_BGD, np.uint8)
    mask[cv2.resize(prior, size, interpolation=cv2.INTER_NEAREST) > 0] = cv2.GC_PR_FGD
    mask[cv2.resize(sure, size, interpolation=cv2.INTER_NEAREST) > 0] = cv2.GC_FGD
    # The crop's top and sides are background unless the prior says otherwise; the bottom edge
    # is where the body leaves the picture.
    border = np.zeros_like(mask, bool)
    border[:2, :] = border[:, :2] = border[:, -2:] = True
    mask[border & (mask == cv2.GC_PR_BGD)] = cv2.GC_BGD
    has_bg = np.any((mask == cv2.GC_BGD) | (mask == cv2.GC_PR_BGD))
    has_fg = np.any((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD))
    if has_bg and has_fg:
        try:
            bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
            bgr = cv2.cvtColor(small, cv2.COLOR_RGB2BGR)
            cv2.grabCut(bgr, mask, None, bgd, fgd, 3, cv2.GC_INIT_WITH_MASK)
        except cv2.error as exc:
            logger.info("GrabCut failed (%s); using the prior matte", exc)
    hard = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.uint8)
    return cv2.resize(hard, (width, height), interpolation=cv2.INTER_LINEAR)


def reference_image(
    image: np.ndarray,
    face: Face,
    size: tuple[int, int],
    *,
    matte_fn: MatteFn = subject_matte,
) -> Image.Image:
    """The subject cut out with `matte_fn`, on white, centred in a picture of `size` (w, h)."""
    matte = matte_fn(image, face)
    alpha = matte[..., None]
    white = np.array(BACKGROUND, np.float32)
    composite = image.astype(np.float32) * alpha + white * (1.0 - alpha)
    left, top, right, bottom = crop_box(face, image.shape)
    subject = np.clip(composite[top:bottom, left:right], 0, 255).astype(np.uint8)
    width, height = size
    # Fill most of the height, as a head-and-shoulders shot, and keep the subject whole.
    scale = min(0.9 * height / subject.shape[0], 0.9 * width / subject.shape[1])
    new_w = max(1, round(subject.shape[1] * scale))
    new_h = max(1, round(subject.shape[0] * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    subject = cv2.resize(subject, (new_w, new_h), interpolation=interpolation)
    canvas = np.full((height, width, 3), BACKGROUND, np.uint8)
    x, y = (width - new_w) // 2, height - new_h  # standing on the bottom edge, as a bust does
    canvas[y : y + new_h, x : x + new_w] = subject
    return Image.fromarray(canvas)
