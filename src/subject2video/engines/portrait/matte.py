"""The subject matte (head, hair, shoulders) and the background plate behind it.

No segmentation weights are needed: a head-and-shoulders prior drawn from the 68 landmarks seeds
OpenCV's GrabCut (definite face and chest, probable hair and shoulders, probable background
around them, definite background further out), at a reduced size. The result is cleaned to the one
region that holds the face, smoothed at full size and feathered over a few pixels. The plate is
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

logger = logging.getLogger(__name__)

#: GrabCut runs on a copy whose long side is at most this.
GRABCUT_SIDE = 288
GRABCUT_ITERATIONS = 3


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


def _prior(size: tuple[int, int], geo: FaceGeometry, scale: float) -> np.ndarray:
    """A GrabCut mask: definite/probable foreground and background from the head prior."""
    w, h = size
    s = scale
    mask = np.full((h, w), cv2.GC_BGD, np.uint8)
    cx, cy, rx, ry = (v * s for v in geo.head)
    fw, fh, chin = geo.width * s, geo.height * s, geo.chin_y * s
    angle = geo.angle

    def ellipse(value: int, grow: float, grow_y: float | None = None) -> None:
        axes = (round(rx * grow), round(ry * (grow_y or grow)))
        cv2.ellipse(mask, (round(cx), round(cy)), axes, angle, 0, 360, value, -1)

    def body(value: int, grow: float) -> None:
        neck_y, shoulder_y = chin + 0.25 * fh, chin + 0.9 * fh
        pts = [
            (cx - 0.35 * fw * grow, chin - 0.2 * fh), (cx + 0.35 * fw * grow, chin - 0.2 * fh),
            (cx + 0.4 * fw * grow, neck_y), (cx + 1.5 * fw * grow, shoulder_y),
            (cx + 1.9 * fw * grow, h + 1), (cx - 1.9 * fw * grow, h + 1),
            (cx - 1.5 * fw * grow, shoulder_y), (cx - 0.4 * fw * grow, neck_y),
        ]  # fmt: skip
        cv2.fillPoly(mask, [np.round(np.array(pts)).astype(np.int32)], value)

    ellipse(cv2.GC_PR_BGD, 1.7, 1.45)
    body(cv2.GC_PR_BGD, 1.35)
    ellipse(cv2.GC_PR_FGD, 1.08)
    body(cv2.GC_PR_FGD, 1.0)
    hull = cv2.convexHull(np.round(geo.landmarks * s).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, cv2.GC_FGD)
    # The chest below the shoulders, narrower than the prior: always the subject. GrabCut alone
    # gives dark clothing against a dark background away (a navy uniform before a flag).
    low = chin + 1.3 * fh
    if low < h:
        chest = np.array([[cx - 1.0 * fw, low], [cx + 1.0 * fw, low],
                          [cx + 1.4 * fw, h + 1], [cx - 1.4 * fw, h + 1]])  # fmt: skip
        cv2.fillConvexPoly(mask, np.round(chest).astype(np.int32), cv2.GC_FGD)
    core = np.array(
        [
            [cx - 0.18 * fw, chin],
            [cx + 0.18 * fw, chin],
            [cx + 0.18 * fw, chin + 0.45 * fh],
            [cx - 0.18 * fw, chin + 0.45 * fh],
        ]
    )
    cv2.fillConvexPoly(mask, np.round(core).astype(np.int32), cv2.GC_FGD)
    return mask


def _largest_with_face(binary: np.ndarray, face_point: tuple[int, int]) -> np.ndarray:
    """The connected region that holds the face, holes filled."""
    count, labels = cv2.connectedComponents(binary.astype(np.uint8), connectivity=8)
    if count <= 1:
        return binary.astype(np.uint8)
    x = min(max(face_point[0], 0), binary.shape[1] - 1)
    y = min(max(face_point[1], 0), binary.shape[0] - 1)
    label = labels[y, x]
    if label == 0:
        label = 1 + int(np.argmax(np.bincount(labels.ravel())[1:]))
    region = (labels == label).astype(np.uint8)
    contours, _ = cv2.findContours(region, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros_like(region)
    cv2.drawContours(filled, contours, -1, 1, -1)
    return filled


def subject_matte(image: np.ndarray, geo: FaceGeometry) -> np.ndarray:
    """The subject's alpha in [0, 1] as float32 (H, W), feathered over a few pixels."""
    h, w = image.shape[:2]
    scale = min(1.0, GRABCUT_SIDE / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    mask = _prior(size, geo, scale)
    prior_fg = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD))
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.setRNGSeed(0)
        cv2.grabCut(
            cv2.cvtColor(small, cv2.COLOR_RGB2BGR), mask, None, bgd, fgd,
            GRABCUT_ITERATIONS, cv2.GC_INIT_WITH_MASK,
        )  # fmt: skip
        fg = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD))
    except cv2.error:
        logger.warning("GrabCut failed; using the head-and-shoulders prior as the matte")
        fg = prior_fg
    face = (round(geo.center[0] * scale), round(geo.center[1] * scale))
    region = _largest_with_face(fg, face)
    area = region.mean()
    if area < 0.25 * prior_fg.mean() or area > 0.9:
        logger.info("GrabCut matte implausible (%.0f%% of the frame); using the prior", 100 * area)
        region = _largest_with_face(prior_fg, face)
    # Open away specks, then smooth the outline at small size before enlarging: the threshold
    # of a blurred, bilinearly enlarged mask is a smooth curve at full size.
    k = max(3, round(0.03 * geo.width * scale) | 1)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    region = cv2.morphologyEx(region, cv2.MORPH_OPEN, disc)
    # Close thin cracks too: a sliver of clothing left out of the matte would show the plate's
    # fill (the sky around it) as a light line inside the subject.
    closing = max(5, round(0.08 * geo.width * scale) | 1)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (closing, closing))
    padded = cv2.copyMakeBorder(region, closing, closing, closing, closing, cv2.BORDER_REPLICATE)
    region = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, disc)[closing:-closing, closing:-closing]
    soft = cv2.GaussianBlur(region.astype(np.float32), (0, 0), 1.2)
    big = cv2.resize(soft, (w, h), interpolation=cv2.INTER_LINEAR)
    hard = (big > 0.5).astype(np.float32)
    feather = max(0.7, 0.0022 * max(h, w))
    return cv2.GaussianBlur(hard, (0, 0), feather)


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
