"""The triangulation that both rigs are built on (`mesh._triangulate`)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from subject2video.engines.portrait.mesh import _triangulate


def nearest_points(points: np.ndarray, w: int, h: int) -> np.ndarray:
    """The triangles as found before: each corner Subdiv2D gives back taken to the nearest of
    the (offset) points, by brute force over every pair, and triangles with a corner 0.05 px
    or more from every point (Subdiv2D's outer vertices) left out."""
    subdiv = cv2.Subdiv2D((-1, -1, w + 2, h + 2))
    jittered = points + 1e-2 * (np.arange(len(points)) % 7)[:, None]
    for x, y in jittered:
        subdiv.insert((float(x), float(y)))
    corners = subdiv.getTriangleList().reshape(-1, 3, 2).astype(np.float64)
    dist = np.linalg.norm(corners[:, :, None, :] - jittered[None, None], axis=3)
    ok = dist.min(axis=2).max(axis=1) < 0.05
    return dist.argmin(axis=2)[ok].astype(np.int32)


@pytest.mark.parametrize("seed", range(6))
def test_triangles_name_the_points_they_were_made_from(seed: int) -> None:
    """Corners are found by their stored bits: the same triangles, in the same order, as the
    brute-force nearest point, on points with whole-pixel ones, coincident ones (the first is
    named) and ones on the frame's edge."""
    rng = np.random.default_rng(seed)
    n = (12, 60, 300)[seed % 3]
    points = rng.uniform(0, 1, (n, 2)) * (639, 479)
    points[::4] = np.round(points[::4])
    points[7], points[9] = points[0], points[2]  # coincident even after the offsets (i % 7)
    points[3] = (0, 0)
    points[4] = (639, 479)
    tri = _triangulate(points, 640, 480)
    assert len(tri) > n // 2
    np.testing.assert_array_equal(tri, nearest_points(points, 640, 480))
    assert 7 not in tri and 9 not in tri  # coincident points are named by the first
