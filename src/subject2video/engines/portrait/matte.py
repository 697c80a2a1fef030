"""The subject matte (head, hair, shoulders) and the background plate behind it.

The matte is MediaPipe's selfie segmentation, kept to the subject and refined at the edges
(`segment.person_matte`). The plate is
the photo with the matte's area filled in (Telea inpainting at quarter size, upsampled): motion
uncovers only a thin band of it near the subject's edge, where the fill continues the real
background.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import cv2
import numpy as np

from subject2video.engines.portrait.segment import person_matte

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FaceGeometry:
    """Sizes and places of a face, from its 68 landmarks (pixels of the working image)."""

    landmarks: np.ndarray
    center: tuple[float, float]
    #: Width across the jaw (landmarks 0-16) and height from the brows to the chin.
    width: float
    height: float
    chin_y: float
    #: Head ellipse (centre x, centre y, half width, half height), hair included.
    head: tuple[float, float, float, float]
    #: Angle of the eye line in degrees (positive: the eye on screen right is lower).
    angle: float

    @classmethod
    def of(cls, landmarks: np.ndarray) -> FaceGeometry:
        """Measure a face from its landmarks."""
        lm = np.asarray(landmarks, dtype=np.float64).reshape(68, 2)
        width = float(np.linalg.norm(lm[16] - lm[0]))
        brow_y = float(lm[17:27, 1].mean())
        chin_y = float(lm[8, 1])
        height = max(chin_y - brow_y, 1.0)
        cx = float(lm[[27, 28, 29, 30, 8], 0].mean())
        cy = float(lm[27:36, 1].mean())
        top = brow_y - 0.85 * height
        head = (cx, (top + chin_y) / 2, 0.64 * width, (chin_y - top) / 2 + 0.04 * height)
        left_eye, right_eye = lm[36:42].mean(axis=0), lm[42:48].mean(axis=0)
        dx, dy = right_eye - left_eye
        return cls(lm, (cx, cy), width, height, chin_y, head, math.degrees(math.atan2(dy, dx)))


def subject_matte(
    image: np.ndarray,
    box: tuple[float, float, float, float],
    others: list[tuple[float, float, float, float]] | None = None,
) -> np.ndarray:
    """The subject's alpha in [0, 1] as float32 (H, W): the learned person matte of the one whose
    face is in `box`, without the people whose faces are in `others` (see `segment`)."""
    return person_matte(image, box, others)


def background_plate(image: np.ndarray, alpha: np.ndarray, grow: int) -> np.ndarray:
    """The photo with the subject's area (grown by `grow` px) filled in from its surroundings."""
    h, w = image.shape[:2]
    region = (alpha > 0.01).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    region = cv2.dilate(region, kernel)
    size = (max(8, w // 4), max(8, h // 4))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    small_mask = cv2.resize(region, size, interpolation=cv2.INTER_NEAREST)
    small_mask = cv2.dilate(small_mask, np.ones((3, 3), np.uint8))
    filled = cv2.inpaint(small, small_mask, 3, cv2.INPAINT_TELEA)
    # A second, blurred pass evens out Telea's streaks; then a little grain like the photo's.
    filled = cv2.GaussianBlur(filled, (0, 0), 1.5)
    filled = np.where(small_mask[..., None] > 0, filled, small)
    big = cv2.resize(filled, (w, h), interpolation=cv2.INTER_CUBIC)
    # Only what the subject covers, soft edge and 3 px beyond, is replaced (no colour of the
    # subject may stay behind as a ghost outline when it moves); further out, the photo itself.
    edge = cv2.dilate((alpha > 0.02).astype(np.uint8), np.ones((7, 7), np.uint8))
    weight = cv2.GaussianBlur(edge.astype(np.float32), (0, 0), 1.2)[..., None]
    plate = image.astype(np.float32) * (1 - weight) + big.astype(np.float32) * weight
    return np.clip(plate + 0.5, 0, 255).astype(np.uint8)
