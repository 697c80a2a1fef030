"""Reading the subject's face in 3D, or saying why the photo cannot be read that way.

The mesh is read inside the subject's box (the largest face, chosen by the runner's detector),
at output size. A photo the mesh cannot read well (the face too small, turned too far to a
profile, or not seen as a face by the mesh's own presence score) is refused with a reason, and the
engine falls back to its 2D warp.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from subject2video.engines.portrait.landmarks import FaceMesh, get_mesher
from subject2video.engines.portrait.matte import FaceGeometry
from subject2video.engines.portrait.topology import DLIB68

#: The mesh is trusted on faces at least this tall (the detector's box, pixels): at output size,
#: or in the photo, where the mesh is then read and scaled to output size ...
MIN_FACE_PX = 56
#: ... turned at most this far from frontal (degrees, from the mesh's own 3D cheek line: the
#: nose's place between the cheeks saturates near 45°, reading a three-quarter view as a profile)
MAX_YAW = 45.0
#: ... and seen by the mesh's own face-presence score with at least this probability.
MIN_PRESENCE = 0.5


@dataclass(frozen=True)
class Reading:
    """The mesh of the subject (None when refused), its geometry, and a line for debugoutput."""

    mesh: FaceMesh | None
    geo: FaceGeometry | None
    line: str


def read_face(
    image: np.ndarray,
    box: tuple[int, int, int, int],
    photo: np.ndarray | None = None,
    photo_box: tuple[int, int, int, int] | None = None,
) -> Reading:
    """The subject's face mesh in `image` (output size), or a reason it cannot be used.

    A face smaller than `MIN_FACE_PX` at output size is read in `photo` (the full-resolution
    picture, its box `photo_box`) where it is large enough there, and mapped to output size."""
    x0, y0, x1, y1 = box
    where = f"subject box ({x0}, {y0}, {x1}, {y1})"
    if min(x1 - x0, y1 - y0) >= MIN_FACE_PX:
        mesh = get_mesher().mesh(image, box)
    elif (
        photo is not None
        and photo_box is not None
        and (min(photo_box[2] - photo_box[0], photo_box[3] - photo_box[1]) >= MIN_FACE_PX)
    ):
        sx, sy = image.shape[1] / photo.shape[1], image.shape[0] / photo.shape[0]
        mesh = scaled(get_mesher().mesh(photo, photo_box), sx, sy)
        where += " (read in the full-size photo)"
    else:
        return Reading(None, None, f"{where}: face under {MIN_FACE_PX} px, too small for the mesh")
    if mesh.presence < MIN_PRESENCE:
        return Reading(None, None, f"{where}: the mesh sees no face (presence {mesh.presence:.2f})")
    yaw = yaw_3d(mesh)
    if abs(yaw) > MAX_YAW:
        return Reading(None, None, f"{where}: turned {yaw:+.0f}° from frontal, too near a profile")
    geo = FaceGeometry.of(mesh.points[DLIB68, :2])
    line = (
        f"{where}: 3D face mesh, presence {mesh.presence:.2f}, face {mesh.width:.0f} px wide, "
        f"turned {yaw:+.0f}° in the photo"
    )
    return Reading(mesh, geo, line)


def scaled(mesh: FaceMesh, sx: float, sy: float) -> FaceMesh:
    """The mesh in an image resized by (sx, sy): depth and iris radii scale with the mean."""
    points = mesh.points * np.array([sx, sy, (sx + sy) / 2])
    s = (sx + sy) / 2
    irises = {k: (x * sx, y * sy, r * s) for k, (x, y, r) in mesh.irises.items()}
    return replace(mesh, points=points, irises=irises)


def yaw_3d(mesh: FaceMesh) -> float:
    """The head's yaw in degrees from the mesh's cheek-to-cheek line in 3D (points 234, 454),
    positive towards screen right as `FaceMesh.yaw_estimate`. The mesh's depth is flatter than a
    real head's, so this reads a little under the true turn (about 40° for a 45° turn)."""
    d = mesh.points[454] - mesh.points[234]
    return math.degrees(math.atan2(-float(d[2]), float(d[0])))
