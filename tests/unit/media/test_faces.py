"""Unit tests for subject2video.media.faces, on scikit-image's astronaut (a face) and cat (none)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from subject2video.errors import ImageError
from subject2video.media.faces import (
    FaceAnalyzer,
    eye_aspect_ratio,
    get_analyzer,
    head_pose,
)
from tests.utils.images import cat_rgb, face_rgb


@pytest.fixture(scope="module")
def analyzer() -> FaceAnalyzer:
    return get_analyzer()


def test_astronaut_has_one_plausible_face(analyzer: FaceAnalyzer) -> None:
    faces = analyzer.detect(face_rgb())
    assert len(faces) == 1
    face = faces[0]
    left, top, right, bottom = face.box
    # The face sits in the upper middle of the 512x512 portrait, about 90 px across.
    assert 150 < left < right < 300 and 50 < top < bottom < 200
    assert 60 < face.width < 130 and 60 < face.height < 130
    assert face.score > 0.5


def test_landmarks_lie_on_the_face(analyzer: FaceAnalyzer) -> None:
    face = analyzer.subject(face_rgb())
    assert face.landmarks is not None
    assert face.landmarks.shape == (68, 2) and face.landmarks.dtype == np.float32
    left, top, right, bottom = face.box
    margin = 0.25 * face.width
    xs, ys = face.landmarks[:, 0], face.landmarks[:, 1]
    assert np.all((xs > left - margin) & (xs < right + margin))
    assert np.all((ys > top - margin) & (ys < bottom + margin))
    # Eyes above the nose, the nose above the mouth, the mouth above the chin.
    eyes_y = face.landmarks[36:48, 1].mean()
    assert eyes_y < face.landmarks[30, 1] < face.landmarks[48:68, 1].mean() < face.landmarks[8, 1]


def test_large_image_maps_back_to_full_resolution(analyzer: FaceAnalyzer) -> None:
    small = analyzer.subject(face_rgb())
    big = cv2.resize(face_rgb(), (1536, 1536), interpolation=cv2.INTER_CUBIC)
    face = analyzer.subject(big)
    assert np.allclose(np.array(face.box) / 3, small.box, atol=8)
    assert face.landmarks is not None and small.landmarks is not None
    assert np.abs(face.landmarks / 3 - small.landmarks).mean() < 2.0


def test_descriptor_is_stable_under_rescaling(analyzer: FaceAnalyzer) -> None:
    image = face_rgb()
    face = analyzer.subject(image)
    smaller = cv2.resize(image, (448, 448), interpolation=cv2.INTER_AREA)
    other = analyzer.subject(smaller)
    assert face.landmarks is not None and other.landmarks is not None
    first = analyzer.descriptor(image, face.landmarks)
    second = analyzer.descriptor(smaller, other.landmarks)
    assert first.shape == (128,) and first.dtype == np.float64
    assert np.linalg.norm(first - second) < 0.6


def test_cat_has_no_human_face(analyzer: FaceAnalyzer) -> None:
    with pytest.raises(ImageError, match=r"\[inputImageFirstUrl\].*face") as caught:
        analyzer.subject(cat_rgb())
    assert caught.value.parameter == "inputImageFirstUrl"


def test_subject_names_the_parameter_it_is_given(analyzer: FaceAnalyzer) -> None:
    with pytest.raises(ImageError, match=r"\[image\]"):
        analyzer.subject(cat_rgb(), parameter="image")


def test_frontal_pose_and_open_eyes(analyzer: FaceAnalyzer) -> None:
    face = analyzer.subject(face_rgb())
    assert face.landmarks is not None
    yaw, pitch, roll = head_pose(face.landmarks, (512, 512))
    assert abs(yaw) < 25 and abs(pitch) < 30 and abs(roll) < 15
    left, right = eye_aspect_ratio(face.landmarks)
    assert 0.2 < left < 0.5 and 0.2 < right < 0.5


def test_pose_signs_follow_the_screen(analyzer: FaceAnalyzer) -> None:
    image = face_rgb()
    face = analyzer.subject(image)
    mirrored = analyzer.subject(np.ascontiguousarray(image[:, ::-1]))
    # Rotating the picture clockwise on screen tilts the head clockwise: roll grows.
    turn = cv2.getRotationMatrix2D(face.center, -15, 1.0)
    tilted = analyzer.subject(cv2.warpAffine(image, turn, (512, 512)))
    assert face.landmarks is not None and mirrored.landmarks is not None
    assert tilted.landmarks is not None
    yaw, _, roll = head_pose(face.landmarks, (512, 512))
    mirrored_yaw, _, _ = head_pose(mirrored.landmarks, (512, 512))
    assert np.sign(yaw) == -np.sign(mirrored_yaw)
    assert head_pose(tilted.landmarks, (512, 512))[2] == pytest.approx(roll + 15, abs=5)


def test_rejects_non_rgb_input(analyzer: FaceAnalyzer) -> None:
    with pytest.raises(ValueError, match="RGB uint8"):
        analyzer.detect(np.zeros((64, 64), dtype=np.uint8))
