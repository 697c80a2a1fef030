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


class _Model:
    """A stand-in for the selfie model: a fixed person probability for the image it is given."""

    def __init__(self, prob: np.ndarray) -> None:
        self.prob = prob.astype(np.float32)

    def mask(self, image: np.ndarray) -> np.ndarray:
        assert image.shape[:2] == self.prob.shape
        return self.prob


def _matte_with(monkeypatch, prob: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    from subject2video.engines.portrait import segment

    monkeypatch.setattr(segment, "get_segmenter", lambda: _Model(prob))
    image = np.full((*prob.shape, 3), 128, np.uint8)
    return segment.person_matte(image, box, bounded=False)


BOX = (100, 80, 200, 180)  # a face 100 px wide, centred at (150, 130)


def test_a_turned_face_keeps_the_background_beside_its_profile_out(monkeypatch) -> None:
    """The model's edge stands where it found most of the face: on a face turned in the photo
    the face box's ellipse reaches past the profile onto the background beside the nose (a
    window beside the group's standing man), which the forced ellipse took into the matte and
    turned with the head, torn into slivers between the far eye and the nose."""
    prob = np.zeros((300, 300))
    prob[40:300, 125:300] = 1.0  # the head and body, profile at x = 125
    alpha = _matte_with(monkeypatch, prob, BOX)
    assert alpha[100:160, 110:120].max() == 0.0  # background inside the box's ellipse
    assert alpha[100:160, 130:190].min() == 1.0


def test_a_face_the_model_misses_is_still_the_subject(monkeypatch) -> None:
    prob = np.zeros((300, 300))
    prob[170:300, 60:240] = 1.0  # shoulders only: the face in deep shadow, missed
    prob[150:170, 130:170] = 1.0  # the neck joins them to the face's middle
    alpha = _matte_with(monkeypatch, prob, BOX)
    assert alpha[100:160, 125:175].min() == 1.0


def test_a_speck_of_the_face_open_to_the_background_is_the_face(monkeypatch) -> None:
    """A speck of the face the model misses, joined to the background by a 2 px gap, is not a
    hole to fill, and showed the plate's fill in a still frame (a blot on the laughing man's
    cheek); inside the face's ellipse it is the face's."""
    prob = np.zeros((300, 300))
    prob[40:300, 105:300] = 1.0
    prob[120:128, 108:116] = 0.0  # the speck
    prob[123:125, 105:108] = 0.0  # its gap to the background
    alpha = _matte_with(monkeypatch, prob, BOX)
    assert alpha[121:127, 109:115].min() == 1.0


def test_another_head_beside_the_subjects_is_theirs_whole(monkeypatch) -> None:
    """The subject's own head and hair are kept from a neighbour, but not a neighbour's own head:
    a face just behind the subject's hair (its centre 0.75 face widths away, inside the ellipse
    kept for the subject's head) is theirs, not cut in two."""
    from subject2video.engines.portrait import segment

    prob = np.zeros((300, 400))
    prob[30:300, 60:330] = 1.0  # the two heads and bodies, one blob to the model
    monkeypatch.setattr(segment, "get_segmenter", lambda: _Model(prob))
    image = np.full((300, 400, 3), 128, np.uint8)
    other = (190, 60, 260, 130)  # a face 70 px wide, centred 75 px from the subject's
    layers = segment.person_layers(image, BOX, [other], bounded=False)
    assert layers.alpha[60:130, 200:260].max() == 0.0  # their face, clear of the subject's cheek
    assert layers.others[60:130, 200:260].all()  # and kept in the plate
    assert layers.alpha[100:160, 110:170].min() == 1.0  # the subject's face
    assert layers.alpha[40:60, 120:180].min() == 1.0  # the subject's hair above it
