"""Scene words: read from the prompt, listed as honoured or not, and seen in the frames."""

from __future__ import annotations

import numpy as np
import pytest

from subject2video.engines.base import GenerationRequest, NullContext
from subject2video.engines.portrait import PortraitEngine
from subject2video.engines.portrait.scene import HALF_SIZE_SIGMA, Grader, defocus, read_scene
from subject2video.media.faces import get_analyzer
from tests.utils.images import face_rgb, second_face_rgb


def test_words_read_and_listed() -> None:
    scene = read_scene("Golden light, a shallow depth of field, wide-angle lens", camera_moves=True)
    assert scene.grade == "golden" and scene.shallow and "wide" in scene.lens
    assert scene.parallax is not None and scene.parallax < 0.5
    line = scene.describe()
    assert "golden: honoured" in line and "shallow depth of field: honoured" in line
    plain = read_scene("She smiles and nods")
    assert plain.grade is None and not plain.shallow and plain.parallax is None
    assert plain.describe() == "scene: no light, colour, focus or lens words read"
    still = read_scene("a wide-angle lens", camera_moves=False)
    assert "wide: NOT honoured" in still.describe()


def test_grades_move_colour_the_named_way() -> None:
    image = face_rgb()
    r, _, b = (image[..., c].mean() for c in range(3))
    warm = Grader("golden")(image)
    assert warm[..., 0].mean() - warm[..., 2].mean() > r - b + 10
    cold = Grader("cold")(image)
    assert cold[..., 2].mean() - cold[..., 0].mean() > b - r + 10
    grey = Grader("black-and-white")(image)
    assert np.abs(grey[..., 0].astype(int) - grey[..., 2]).max() <= 1


@pytest.mark.parametrize(
    ("prompt", "grade", "refused"),
    [
        ("a moody black and white portrait", "moody+black-and-white", None),
        ("black-and-white, moody", "black-and-white+moody", None),
        ("vintage film, golden hour, warm light", "vintage+golden", None),
        ("at sunset, golden light", "sunset", None),
        ("golden light, then cold blue light", "golden", "cold: NOT honoured (golden came first"),
        ("golden light, black and white", "golden", "black and white: NOT honoured"),
        ("moody and vintage", "moody", "vintage: NOT honoured (one tone; moody came first)"),
    ],
)
def test_grades_combine_in_the_prompts_order(prompt: str, grade: str, refused: str | None) -> None:
    """A temperature, a tone and black-and-white go together, read in the prompt's order (not
    the word list's); a word that clashes with one before it is listed as not honoured."""
    scene = read_scene(prompt)
    assert scene.grade == grade
    line = scene.describe()
    assert ("NOT honoured" in line) == (refused is not None), line
    if refused is not None:
        assert refused in line
    Grader(grade)  # every grade read can be made


def test_a_moody_black_and_white_is_grey_and_darker() -> None:
    image = face_rgb()
    grey = Grader("black-and-white")(image).astype(int)
    noir = Grader("moody+black-and-white")(image).astype(int)
    assert np.abs(noir[..., 0] - noir[..., 1]).max() <= 2  # no colour but a faint cool cast
    assert np.abs(noir[..., 2] - noir[..., 0]).mean() < 8
    assert noir.mean() < grey.mean() - 8  # the moody curve on top
    with pytest.raises(ValueError, match="unknown grade 'teal'"):
        Grader("moody+teal")


def frames(prompt: str, count: int = 12) -> np.ndarray:
    image = face_rgb()
    face = get_analyzer().subject(image, landmarks=False)
    request = GenerationRequest(
        image=image, face=face, prompt=prompt, seed=4, width=512, height=512, frames=count
    )
    return np.stack(list(PortraitEngine().frames(request, NullContext())))


@pytest.mark.parametrize(("word", "grade"), [("golden light", "golden"), ("vintage", "vintage")])
def test_a_graded_video_is_the_plain_video_graded(word: str, grade: str) -> None:
    """The grade is given once to the photo's pixels and palettes, not to every frame: the
    frames are still the plain frames graded, but for the rounding of the resampling and of
    the subject's soft edge over the plate (where a grade that clips mixes differently)."""
    plain, graded = frames("She laughs and speaks", 8), frames(f"She laughs and speaks, {word}", 8)
    grader = Grader(grade)
    expected = np.stack([grader(frame) for frame in plain])
    off = np.abs(expected.astype(int) - graded).max(axis=3)
    assert off.mean() < 0.3
    assert np.mean(off > 2) < 0.01
    # The painted mouth is graded with the rest (the grade moves its colours by 20-50 levels).
    mouth = (slice(None), slice(140, 175), slice(200, 250))
    assert off[mouth].max() < 12
    assert np.abs(expected.astype(int) - plain).mean() > 5  # the grade is there at all


def _sharpness(patch: np.ndarray) -> float:
    grey = patch.mean(axis=2)
    return float(np.abs(np.diff(grey, axis=1)).mean() + np.abs(np.diff(grey, axis=0)).mean())


def test_shallow_focus_blurs_the_background_not_the_face() -> None:
    plain, shallow = frames("She smiles"), frames("She smiles, shallow depth of field")
    # The flag at the top left is background; her face is the subject.
    assert _sharpness(shallow[0][:150, :100]) < 0.5 * _sharpness(plain[0][:150, :100])
    face = (slice(90, 160), slice(190, 260))
    assert abs(_sharpness(shallow[0][face]) - _sharpness(plain[0][face])) < 0.1 * _sharpness(
        plain[0][face]
    )


@pytest.mark.parametrize("face_height", [20 * HALF_SIZE_SIGMA, 300.0])
def test_a_wide_defocus_made_at_half_size_is_the_whole_blur_within_a_few_levels(
    face_height: float,
) -> None:
    # From HALF_SIZE_SIGMA on, the blur is made at half size and enlarged (a fifth of the cost):
    # on a sharp photo (Grace Hopper's flag, cap and braid), within a few levels of the whole
    # blur, and as smooth.
    import cv2

    photo = cv2.resize(second_face_rgb(), (720, 844), interpolation=cv2.INTER_AREA)
    whole = cv2.GaussianBlur(photo, (0, 0), 0.05 * face_height).astype(int)
    made = defocus(photo, face_height).astype(int)
    assert made.shape == photo.shape
    assert np.abs(made - whole).max() <= 10
    assert np.abs(made - whole).mean() < 0.4
    step = np.abs(np.diff(made, axis=1)).mean()
    assert step < 1.1 * np.abs(np.diff(whole, axis=1)).mean() + 0.05


def test_a_push_in_moves_the_background_less_than_the_subject() -> None:
    flat = frames("The camera pushes in slowly", 40)
    deep = frames("The camera pushes in slowly, wide-angle lens", 40)
    # Far from her, the last frame differs between the two: the background lags the push.
    corner = (slice(0, 60), slice(0, 60))
    assert np.abs(flat[-1][corner].astype(int) - deep[-1][corner]).mean() > 3
    # Her face moves the same in both.
    face = (slice(100, 150), slice(200, 250))
    assert np.abs(flat[-1][face].astype(int) - deep[-1][face]).mean() < 3
