"""The VACE reference image: the subject's head and shoulders, cut out, on a plain white background.

VACE takes the subject as pixels and works best with the subject alone on white (VACE #82). The
matte is the portrait engine's: MediaPipe's selfie segmentation kept to the subject, its edges
refined (`engines.portrait.segment`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import cv2
import numpy as np
from PIL import Image

from subject2video.engines.base import Face
from subject2video.engines.portrait.segment import person_matte

logger = logging.getLogger(__name__)

#: A matte function: (RGB image, face) -> float32 matte in [0, 1] of the image's height and width.
MatteFn = Callable[[np.ndarray, Face], np.ndarray]
BACKGROUND = (255, 255, 255)


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


def subject_matte(image: np.ndarray, face: Face) -> np.ndarray:
    """A float32 matte in [0, 1] of the person: the portrait engine's learned person matte."""
    return person_matte(image, face.box)


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
