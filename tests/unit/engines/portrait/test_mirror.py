"""The far side of a face turned in the photo, textured from the near side's mirror image as a
turn brings it into view (`render3d.MirrorTexture`)."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from subject2video.engines.portrait import render3d
from subject2video.engines.portrait import topology as T
from subject2video.engines.portrait.face3d import read_face
from subject2video.engines.portrait.landmarks import FaceMesh
from subject2video.engines.portrait.matte import FaceGeometry
from subject2video.engines.portrait.plan import CHANNELS
from subject2video.engines.portrait.render3d import Renderer3D
from subject2video.engines.portrait.rig3d import SKIN, Rig3D
from subject2video.media.faces import get_analyzer
from tests.utils.images import face_rgb
from tests.utils.portrait import turn_points

SKIN_RGB = np.array([205, 150, 125])
WALL_RGB = np.array([60, 90, 200])


def values(**changes: float) -> dict[str, float]:
    out = {name: 0.0 for name in CHANNELS}
    out["zoom"] = 1.0
    out.update(changes)
    return out


def _areas(corners: np.ndarray) -> np.ndarray:
    e1, e2 = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    return (e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]) / 2


@pytest.fixture(scope="module")
def turned() -> tuple[FaceMesh, np.ndarray]:
    """The astronaut's mesh turned 25° (the nose towards screen left) and the photo of it: skin
    where the photo shows the face face on, and the wall over the far side's edge-on strip (as
    a turned face's photo shows the wall beyond the profile there)."""
    image = face_rgb()
    box = get_analyzer().subject(image).box
    mesh = read_face(image, box).mesh
    assert mesh is not None
    p = turn_points(mesh.points, -25)
    irises = {}
    for eye, (upper, lower, _, _) in T.EYES.items():
        ring = p[list(upper) + list(lower), :2]
        irises[eye] = (*ring.mean(0), 0.15 * float(np.ptp(ring[:, 0])))
    face = replace(mesh, points=p, irises=irises)
    assert face.yaw_estimate() < -25
    return face, image.shape[:2]


def test_a_turn_back_shows_the_far_side_as_skin_not_the_wall_beyond_it(turned) -> None:
    """Turned back towards the camera, the far side's edge-on strip used to be stretched over
    the cheek from the photo's pixels there, the wall; now the near side's mirror image gives it
    skin. At rest the photo's own pixels stay."""
    face, (h, w) = turned
    hull = cv2.convexHull(face.points[:, :2].astype(np.float32)).astype(np.int32)
    alpha = np.zeros((h, w), np.float32)
    cv2.fillConvexPoly(alpha, hull, 1.0)
    alpha = cv2.dilate(alpha, np.ones((9, 9), np.uint8))
    geo = FaceGeometry.of(face.points[T.DLIB68, :2])
    rig = Rig3D.build(face, geo, alpha)
    # The photo: skin over the triangles it shows at least 15% as wide as their mirror
    # images, the wall everywhere else (the far side's edge-on strip among it).
    twins = T.mirror_pairs()
    rest = rig.rest[:, :2]
    face_tri = np.all(rig.triangles < 468, axis=1) & (rig.layer == SKIN)
    tri = rig.triangles[face_tri]
    own = np.abs(_areas(rest[tri]))
    mirrored = np.abs(_areas(rest[twins[tri]]))
    seen = own >= 0.15 * mirrored
    image = np.empty((h, w, 3), np.uint8)
    image[:] = WALL_RGB
    for corners in tri[seen]:
        cv2.fillConvexPoly(image, np.round(rest[corners]).astype(np.int32), SKIN_RGB.tolist())
    plate = np.empty_like(image)
    plate[:] = WALL_RGB
    renderer = Renderer3D(image, alpha, plate, rig)

    def frame(yaw: float) -> tuple[np.ndarray, np.ndarray]:
        v = values(yaw=yaw)
        moved, depth = rig.positions(v)
        return renderer.render3d(moved, depth, rig.sources(v, moved), 0.0)[..., :3].copy(), moved

    still, _ = frame(0.0)
    turned_back, moved = frame(30.0)
    mirror, renderer.mirror = renderer.mirror, None
    unmirrored, _ = frame(30.0)
    renderer.mirror = mirror
    assert np.array_equal(still, frame(0.0)[0])  # at rest, the photo's own pixels
    # Where the turn back shows the far side's strip that the photo has the wall on (its
    # triangles, nothing nearer drawn over them): the wall, stretched over the cheek, before;
    # the near side's skin, mirrored, now.
    strip, seen_now = np.zeros((h, w), np.uint8), np.zeros((h, w), np.uint8)
    for mask, corners in [(strip, c) for c in tri[~seen]] + [(seen_now, c) for c in tri[seen]]:
        cv2.fillConvexPoly(mask, np.round(moved[corners]).astype(np.int32), 1)
    inside = (strip > 0) & (cv2.dilate(seen_now, np.ones((3, 3), np.uint8)) == 0)
    assert inside.sum() > 150, int(inside.sum())

    def wall(frame: np.ndarray) -> float:
        """How much wall the strip shows: each pixel's place between skin (0) and wall (1)."""
        line = (WALL_RGB - SKIN_RGB).astype(np.float64)
        place = (frame[inside].astype(np.float64) - SKIN_RGB) @ line / (line @ line)
        return float(np.clip(place, 0.0, 1.0).sum())

    assert wall(unmirrored) > 0.6 * inside.sum(), (wall(unmirrored), int(inside.sum()))
    assert wall(turned_back) < 0.6 * wall(unmirrored), (wall(turned_back), wall(unmirrored))


def test_a_photo_facing_the_camera_has_no_far_side_to_mirror() -> None:
    """A face the photo shows face on keeps its own pixels everywhere (no mirror texture)."""
    image = face_rgb()
    box = get_analyzer().subject(image).box
    reading = read_face(image, box)
    assert reading.mesh is not None and reading.geo is not None
    alpha = np.ones(image.shape[:2], np.float32)
    rig = Rig3D.build(reading.mesh, reading.geo, alpha)
    renderer = Renderer3D(image, alpha, image, rig)
    assert renderer.mirror is None
    assert abs(rig.photo_yaw) < render3d.MIRROR_MIN_YAW


def test_mirror_pairs_are_the_meshs_left_right_twins() -> None:
    """Each point's twin is across the midline: pairing is its own inverse, the midline points
    are their own twins, and on a face the photo shows face on each twin sits at the mirrored
    place (as far from the midline, at the same height), within a few percent of the face."""
    twins = T.mirror_pairs()
    assert np.array_equal(twins[twins], np.arange(468))
    assert all(twins[i] == i for i in T.MIDLINE)
    assert sum(twins[i] == i for i in range(468)) == len(T.MIDLINE)
    image = face_rgb()
    mesh = read_face(image, get_analyzer().subject(image).box).mesh
    assert mesh is not None
    p = mesh.points[:, :2].astype(np.float64)
    width = float(np.ptp(p[:, 0]))
    centre = float(np.median(p[list(T.MIDLINE), 0]))
    across = np.abs((p[:, 0] - centre) + (p[twins, 0] - centre))
    assert float(np.median(across)) < 0.03 * width
    assert float(np.median(np.abs(p[:, 1] - p[twins, 1]))) < 0.03 * width
