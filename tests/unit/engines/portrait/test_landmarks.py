"""The face mesh (MediaPipe through LiteRT) on real photos: where its points fall, and how the
topology tables name them."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from subject2video.engines.portrait import topology as T
from subject2video.engines.portrait.face3d import read_face
from subject2video.engines.portrait.landmarks import FaceMesh, get_mesher
from subject2video.media.faces import get_analyzer
from tests.utils.images import face_rgb, second_face_rgb


@pytest.fixture(scope="module")
def astronaut() -> tuple[np.ndarray, FaceMesh, np.ndarray]:
    image = face_rgb()
    face = get_analyzer().subject(image)
    assert face.landmarks is not None
    return image, get_mesher().mesh(image, face.box), face.landmarks


def test_the_mesh_falls_on_the_face_dlib_finds(astronaut) -> None:
    _, mesh, dlib68 = astronaut
    assert mesh.points.shape == (468, 3)
    assert mesh.presence > 0.9
    # The mesh's points named after dlib's 68 lie within a few percent of the face's width of
    # dlib's own (an independent model): the tables name the right points.
    width = float(np.linalg.norm(dlib68[16] - dlib68[0]))
    rigid = [27, 30, 33, 36, 39, 42, 45, 48, 54]
    error = np.linalg.norm(mesh.points[T.DLIB68[rigid], :2] - dlib68[rigid], axis=1)
    assert error.max() < 0.08 * width, error


def test_left_right_and_depth_are_as_the_tables_say(astronaut) -> None:
    _, mesh, _ = astronaut
    p = mesh.points
    # Screen-left eye (33-133) is left of the screen-right eye (263-362).
    assert p[33, 0] < p[133, 0] < p[362, 0] < p[263, 0]
    # Upper lids above lower lids, upper inner lip above lower inner lip (or level).
    for upper, lower in ((T.LID_UPPER_L, T.LID_LOWER_L), (T.LID_UPPER_R, T.LID_LOWER_R)):
        assert np.all(p[list(upper[2:-2]), 1] < p[list(lower[2:-2]), 1])
    assert np.all(p[list(T.LIP_INNER_UPPER[2:-2]), 1] <= p[list(T.LIP_INNER_LOWER[2:-2]), 1] + 1)
    # Depth is larger nearer the viewer: the nose tip stands out of the cheeks.
    assert p[T.NOSE_TIP, 2] > p[T.CHEEK_L, 2] + 0.3 * mesh.width
    assert p[T.NOSE_TIP, 2] > p[T.CHEEK_R, 2] + 0.3 * mesh.width


def test_each_iris_sits_inside_its_eye(astronaut) -> None:
    _, mesh, _ = astronaut
    for eye, (upper, lower, _, _) in T.EYES.items():
        x, y, radius = mesh.irises[eye]
        polygon = mesh.points[list(upper) + list(lower[::-1]), :2].astype(np.float32)
        assert cv2.pointPolygonTest(polygon.reshape(-1, 1, 2), (x, y), False) > 0
        eye_width = np.linalg.norm(mesh.points[upper[0], :2] - mesh.points[upper[-1], :2])
        assert 0.12 * eye_width < radius < 0.4 * eye_width


def test_a_tilted_head_is_read_levelled_and_back() -> None:
    """The crop is levelled by the eye line; points map back to the tilted photo."""
    image = second_face_rgb()
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), -20, 1.0)
    tilted = cv2.warpAffine(image, matrix, (w, h), borderMode=cv2.BORDER_REFLECT)
    face = get_analyzer().subject(tilted)
    mesh = get_mesher().mesh(tilted, face.box)
    dx, dy = mesh.points[263, :2] - mesh.points[33, :2]
    assert abs(np.degrees(np.arctan2(dy, dx)) - 20) < 4
    assert mesh.presence > 0.9


def test_a_face_too_small_is_refused_with_its_box() -> None:
    image = face_rgb()
    reading = read_face(image, (200, 90, 240, 130))
    assert reading.mesh is None
    assert "(200, 90, 240, 130)" in reading.line and "too small" in reading.line


def test_a_box_without_a_face_is_refused() -> None:
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 255, (400, 400, 3), dtype=np.uint8)
    reading = read_face(noise, (100, 100, 300, 300))
    assert reading.mesh is None
    assert "no face" in reading.line or "profile" in reading.line
