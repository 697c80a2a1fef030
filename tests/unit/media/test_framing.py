"""Framing: the photo fitted to an output aspect, the face never cut."""

from __future__ import annotations

import numpy as np
import pytest

from subject2video.media.framing import MARGIN, fit_to_aspect
from subject2video.media.subject import Face


def _photo(w: int, h: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (h, w, 3), dtype=np.uint8)


def _face_kept(image: np.ndarray, face_before: Face, framed_face: Face, photo: np.ndarray) -> None:
    """The face's pixels (with its margin) are the photo's, moved, not cut or blurred."""
    l0, t0, r0, b0 = face_before.box
    l1, t1, r1, b1 = framed_face.box
    assert (r1 - l1, b1 - t1) == (r0 - l0, b0 - t0)
    assert l1 >= 0 and t1 >= 0 and r1 <= image.shape[1] and b1 <= image.shape[0]
    assert np.array_equal(image[t1:b1, l1:r1], photo[t0:b0, l0:r0])


@pytest.mark.parametrize(
    ("photo_size", "out", "how"),
    [
        ((1200, 1600), (1280, 720), "cropped"),
        ((1200, 1600), (720, 1280), "cropped"),
        ((1600, 900), (1080, 1080), "cropped"),
        ((900, 900), (1920, 1080), "cropped"),
        ((1000, 1000), (1000, 1000), "kept"),
    ],
)
def test_crops_to_the_aspect_around_the_face(
    photo_size: tuple[int, int], out: tuple[int, int], how: str
) -> None:
    photo = _photo(*photo_size)
    w, h = photo_size
    face = Face((w // 2 - 100, h // 3 - 120, w // 2 + 100, h // 3 + 120))
    framed = fit_to_aspect(photo, face, out)
    fh, fw = framed.image.shape[:2]
    assert abs(fw / fh - out[0] / out[1]) < 0.01
    assert framed.how == how and how in framed.note
    _face_kept(framed.image, face, framed.face, photo)


def test_extends_the_background_where_a_crop_would_cut_the_face() -> None:
    photo = _photo(1200, 1600)
    face = Face((150, 300, 1050, 1400))  # a close-up: the face fills the width
    framed = fit_to_aspect(photo, face, (1280, 720))
    fh, fw = framed.image.shape[:2]
    assert framed.how == "extended" and "extended" in framed.note
    assert abs(fw / fh - 1280 / 720) < 0.01
    assert fh >= 1600 * 0.99  # nothing of the height was cut
    _face_kept(framed.image, face, framed.face, photo)
    # The new columns are made, not black: blurred mirrored photo.
    left = framed.face.box[0] - face.box[0]
    assert left > 0 and framed.image[:, : left // 2].mean() > 40


def test_margin_is_kept_on_a_tall_crop() -> None:
    photo = _photo(1600, 1000)
    face = Face((700, 100, 900, 400))  # near the top
    framed = fit_to_aspect(photo, face, (1280, 720))
    assert framed.face.box[1] >= min(face.box[1], MARGIN * face.height) - 1


def test_landmarks_move_with_the_face() -> None:
    photo = _photo(1200, 1600)
    points = np.array([[600.0, 500.0], [650.0, 520.0]])
    face = Face((500, 400, 700, 650), landmarks=points)
    framed = fit_to_aspect(photo, face, (1280, 720))
    dx = framed.face.box[0] - face.box[0]
    dy = framed.face.box[1] - face.box[1]
    assert framed.face.landmarks is not None
    assert np.allclose(framed.face.landmarks, points + np.array([dx, dy]))
