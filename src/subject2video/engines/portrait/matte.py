"""The subject matte (head, hair, shoulders) and the background plate behind it.

The matte is MediaPipe's selfie segmentation, kept to the subject and refined at the edges
(`segment.person_matte`). The plate is the photo with the matte's area filled in: near the
subject's edge, where motion and a camera's parallax uncover it, by the background beside it
mirrored across the edge (`_mirror_edge`: the curtain's folds, the wall's grain go on, sharp);
further in, by Telea inpainting at quarter size, upsampled (smooth, never seen).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from subject2video.engines.portrait.segment import Layers, person_layers

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
) -> Layers:
    """The subject's alpha in [0, 1] as float32 (H, W): the learned person matte of the one whose
    face is in `box`, without the people whose faces are in `others`; with the people and things
    it left out (`segment.Layers`)."""
    return person_layers(image, box, others)


def background_plate(
    image: np.ndarray,
    alpha: np.ndarray,
    grow: int,
    faces: Sequence[tuple[float, float, float, float]] = (),
    keep: np.ndarray | None = None,
) -> np.ndarray:
    """The photo with the subject's area (grown by `grow` px) filled in from its surroundings;
    the other people's `faces` (boxes) are never mirrored into it (`_mirror_edge`). Where `keep`
    (uint8 0/1: `Layers.others`, the people beyond a cut in the subject's matte) is set and the
    subject is not, the photo stays: a neighbour cut from the subject keeps their own pixels
    along the cut."""
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
    _mirror_edge(image, region, grow, big, faces)
    # Only what the subject covers, soft edge and 3 px beyond, is replaced (no colour of the
    # subject may stay behind as a ghost outline when it moves); further out, the photo itself.
    edge = cv2.dilate((alpha > 0.02).astype(np.uint8), np.ones((7, 7), np.uint8))
    weight = cv2.GaussianBlur(edge.astype(np.float32), (0, 0), 1.2)
    if keep is not None:
        weight[(keep > 0) & (alpha <= 0.02)] = 0.0
    return cv2.blendLinear(big, image, weight, 1 - weight)


#: The fill near the subject's edge mirrors the background for this many times the plate's
#: growth (`background_plate`'s `grow`) into the subject's area, fading to the inpainting by
#: half as far again.
MIRROR_REACH = 3.0


def _mirror_edge(
    image: np.ndarray,
    region: np.ndarray,
    grow: int,
    fill: np.ndarray,
    faces: Sequence[tuple[float, float, float, float]] = (),
) -> None:
    """Fill `region` (the subject's area, grown) near its edge, in `fill` (in place), with the
    photo's background mirrored across the edge: each pixel at depth d takes the pixel d + 1
    beyond the edge along the edge's normal. The normal is that of the distance to the edge,
    smoothed, so that a curved edge (a shoulder, the head) mirrors without the zig-zags of the
    nearest edge pixel; where the mirrored point falls in the region again (a narrow gap) or on
    another person's face (`faces`: a face beside the subject would come back as its mirror
    image, a ghost), the inpainting stays. The steps and the weights are made at half size
    (they are smooth) and enlarged; the mirrored pixels are the photo's own, at full size."""
    reach = MIRROR_REACH * grow
    fade = 1.5 * reach
    bx, by, bw, bh = cv2.boundingRect(region)
    if bw == 0 or bh == 0:
        return
    # The region's box (and two pixels beyond, for its edge): what it mirrors is looked up in
    # the whole photo.
    h, w = region.shape
    x0, y0 = max(0, bx - 2), max(0, by - 2)
    x1, y1 = min(w, bx + bw + 2), min(h, by + bh + 2)
    size = (x1 - x0, y1 - y0)
    inside = cv2.resize(
        region[y0:y1, x0:x1], ((size[0] + 1) // 2, (size[1] + 1) // 2),
        interpolation=cv2.INTER_NEAREST,
    )  # fmt: skip
    depth = 2 * cv2.distanceTransform(inside, cv2.DIST_L2, 5)  # in full-size pixels
    smooth = cv2.GaussianBlur(depth, (0, 0), grow / 6 + 1)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)
    step = 2 * (depth + 1) / (np.sqrt(gx * gx + gy * gy) + 1e-6)
    dx, dy = -gx * step, -gy * step
    # Where each half-size point's mirror lands: in the region again (or within 2 px of it,
    # for the full-size points between), it has no background.
    hh, hw = inside.shape
    at_x = dx + (x0 + 2 * np.arange(hw, dtype=np.float32) + 0.5)[None, :]
    at_y = dy + (y0 + 2 * np.arange(hh, dtype=np.float32) + 0.5)[:, None]
    near_region = cv2.dilate(region, np.ones((5, 5), np.uint8))
    for fx0, fy0, fx1, fy1 in faces:
        # The face's box with its hair and chin: a fifth of its size more at the sides and
        # below, three tenths above.
        mx, my = 0.2 * (fx1 - fx0), 0.2 * (fy1 - fy0)
        corner = (int(fx0 - mx), int(fy0 - 1.5 * my))
        cv2.rectangle(near_region, corner, (int(fx1 + mx), int(fy1 + my)), 1, -1)
    lands = cv2.remap(near_region, at_x, at_y, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT_101)
    valid = ((lands == 0) & (inside > 0)).astype(np.uint8)
    # Soft where the mirror gives way, and nothing at all where it has no background.
    soft = cv2.GaussianBlur(
        cv2.erode(valid, np.ones((3, 3), np.uint8)).astype(np.float32), (0, 0), 1.0
    )
    weight = np.clip((fade - depth) / (fade - reach), 0.0, 1.0) * soft * valid
    weight, map_x, map_y = (
        cv2.resize(a, size, interpolation=cv2.INTER_LINEAR) for a in (weight, dx, dy)
    )
    map_x += np.arange(x0, x1, dtype=np.float32)[None, :]
    map_y += np.arange(y0, y1, dtype=np.float32)[:, None]
    # And at full size, exactly: between two half-size points across the middle of a narrow
    # part (where the normals turn round), the enlarged step can fall short, into the subject.
    lands = cv2.remap(
        near_region, map_x, map_y, cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT_101
    )
    weight[lands > 0] = 0
    # Beyond the photo's border, the photo reflected there (as the inpainting sees it); four
    # channels, which OpenCV resamples several times faster than three.
    rgba = cv2.cvtColor(image, cv2.COLOR_RGB2RGBA)
    mirrored = cv2.remap(rgba, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    window = fill[y0:y1, x0:x1]
    window[:] = cv2.blendLinear(
        cv2.cvtColor(mirrored, cv2.COLOR_RGBA2RGB), window, weight, 1 - weight
    )
