"""The learned person matte: the subject whole (face, hair, shoulders), the background and other
people out, its edge soft over a few pixels only."""

from __future__ import annotations

import numpy as np

from subject2video.engines.portrait.segment import person_matte
from subject2video.media.detector import get_detector
from tests.utils.images import face_rgb, group_rgb


def core(alpha: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The middle of a face box (eyes to mouth, the box's corners are often background)."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    return alpha[y0 + h // 5 : y1 - h // 4, x0 + w // 5 : x1 - w // 5]


def test_the_astronaut_whole_and_the_wall_out() -> None:
    image = face_rgb()
    face = get_detector().subject(image)
    alpha = person_matte(image, face.box)
    assert alpha.shape == image.shape[:2] and alpha.dtype == np.float32
    x0, y0, x1, _ = face.box
    assert core(alpha, face.box).min() > 0.95  # the face
    assert alpha[y0 - 25 : y0 - 10, (x0 + x1) // 2].min() > 0.9  # hair above the brows
    assert alpha[480:, 100:400].mean() > 0.95  # her suit at the bottom
    assert alpha[:60, :60].max() == 0 and alpha[:60, -60:].max() == 0  # the wall, the flag
    # The soft edge is narrow: few pixels are neither in nor out.
    soft = (alpha > 0.05) & (alpha < 0.95)
    assert soft.sum() < 0.04 * (alpha > 0.5).sum()


def test_in_a_group_only_the_subject() -> None:
    image = group_rgb()
    faces = get_detector().detect(image)
    subject, others = faces[0], [f.box for f in faces[1:]]
    alpha = person_matte(image, subject.box, others)
    assert core(alpha, subject.box).min() > 0.95
    for left, top, right, bottom in others:
        assert alpha[top:bottom, left:right].max() < 0.05, "another face is in the matte"
