"""The head-and-body rig in 3D: the face mesh, the head's outline, neck, shoulders and frame.

Vertices, in order: the 468 mesh points (with MediaPipe's depth); the irises; the outer ring
(hair arc, the matte's outline and a ring beyond it, the base of the neck, the frame border);
then two layers of copies that sit behind the skin: the eyeballs (the eye openings at rest, which
lids slide over instead of squashing them) and the mouth's own interior (the photo's teeth, which
move with the upper jaw instead of stretching). Each frame, expressions move the mesh, the head
turns about a pivot at the top of the neck in 3D and is projected with perspective, weighted
down the neck to the still shoulders; triangles are drawn back to front (`Renderer3D`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from subject2video.engines.portrait import expression as X
from subject2video.engines.portrait import topology as T
from subject2video.engines.portrait import visemes
from subject2video.engines.portrait.face3d import yaw_3d
from subject2video.engines.portrait.landmarks import FaceMesh
from subject2video.engines.portrait.matte import FaceGeometry
from subject2video.engines.portrait.mesh import (
    _border,
    _dedupe,
    _normals,
    _outline,
    _triangulate,
    body_shift,
)
from subject2video.engines.portrait.plan import TURN_DEG

#: Camera distance in face widths: a portrait lens at arm's length or so.
CAMERA_DISTANCE = 5.0
#: Share of the plan's pitch the mesh is turned by. The mesh's nose stands further out of the
#: face, front to back, than a generic head's: the evaluator's independent measure (solvePnP on
#: dlib's landmarks) read 152% of the asked pitch at full pitch and 97-110% of the asked yaw
#: (README), so pitch is scaled to land on the plan.
PITCH_GAIN = 0.7
#: Layers, drawn in this order: the still body and frame, then eyeballs and mouth, then skin.
BODY, EYEBALL, INTERIOR, SKIN = 0, 1, 2, 3
#: How far into the lower lip (a share of its thickness) an open mouth's lower rim takes its
#: texture from.
LOWER_RIM_SOURCE = 0.3
#: A face turned in the photo, turned further from the camera: a plain turn is scaled so that the
#: face ends about this many degrees from facing the camera (the photo's yaw plus the turn). Past
#: it the far eye folds behind the nose and the face reads as a profile that one photo cannot
#: texture, and that dlib's frontal detector no longer finds (the turned woman at -37° turned a
#: further 18°: her face lost from frame 28 on).
AWAY_LIMIT = 48.0
#: ...but such a turn keeps at least this share of the asked turn, so that it still shows.
AWAY_FLOOR = 0.55
#: How far into the upper lip its rim's texture comes from as lips the photo has parted close.
CLOSED_RIM_SOURCE = 0.25


@dataclass
class Rig3D:
    """The rig at rest and how it moves; `positions()` gives one frame's projected vertices."""

    geo: FaceGeometry
    rest: np.ndarray  # (N, 3) x, y, z (z towards the viewer)
    head: np.ndarray  # (N,) how much the head's rotation moves a vertex
    body: np.ndarray  # (N,) how much body motion (sway, breath) moves it
    triangles: np.ndarray  # (T, 3)
    layer: np.ndarray  # (T,) BODY, EYEBALL, INTERIOR or SKIN
    pivot: np.ndarray  # (3,)
    measures: X.FaceMeasures
    #: Per eye, the indices of the iris vertices' eyeball copies (what gaze moves).
    iris_copies: dict[str, list[int]]
    #: The vertex each eyeball / interior copy copies, and where the copies start.
    eyeball_of: np.ndarray
    interior_of: np.ndarray
    eyeball_first: int
    interior_first: int
    size: tuple[int, int]
    #: How much of a turn that brings the photo's hidden side into view is made: a face turned
    #: in the photo has no pixels of that side, only a thin strip to stretch over it.
    reveal: float = 1.0
    photo_yaw: float = 0.0
    #: The head's yaw in the photo by the mesh's 3D cheek line (`face3d.yaw_3d`): a look up or
    #: down pitches the head about its own left-right axis, which a turned head has turned too.
    head_yaw: float = 0.0

    @property
    def away(self) -> float:
        """How much of a turn that takes the face further from the camera is made."""
        return float(np.clip((AWAY_LIMIT - abs(self.photo_yaw)) / TURN_DEG, AWAY_FLOOR, 1.0))

    @property
    def mesh(self) -> np.ndarray:
        return self.rest[:468]

    @classmethod
    def build(cls, face: FaceMesh, geo: FaceGeometry, alpha: np.ndarray) -> Rig3D:
        """Place the rig's vertices for a face mesh and its matte, and triangulate them."""
        h, w = alpha.shape
        mesh = face.points.astype(np.float64)
        fw = geo.width
        pivot = np.array(
            [mesh[[234, 454], 0].mean(), mesh[[61, 291], 1].mean(), mesh[[234, 454], 2].mean()]
        )
        pivot[2] -= 0.1 * fw
        iris_pts, iris = _irises(face, mesh, 468)
        outer = _outer(geo, alpha, np.concatenate([mesh[:, :2], iris_pts]))
        flat = np.concatenate([mesh[:, :2], iris_pts, outer])
        n_face = 468 + len(iris_pts)
        flat[:, 0] = np.clip(flat[:, 0], 0, w - 1)
        flat[:, 1] = np.clip(flat[:, 1], 0, h - 1)
        face_ids = np.concatenate([_sparse(mesh, fw), np.arange(468, n_face)])
        tri = _two_part_triangles(flat, face_ids, (w, h))
        centroid = flat[tri].mean(axis=1)
        in_eye = _inside(centroid, [_eye_polygon(mesh, e) for e in ("l", "r")])
        in_mouth = _inside(centroid, [_mouth_polygon(mesh)]) & np.all(tri < 468, axis=1)
        is_face = np.all(tri < n_face, axis=1)
        # Copies for the layers behind the skin.
        eyeball_of = np.unique(tri[in_eye])
        interior_of = np.unique(tri[in_mouth])
        base = len(flat)
        remap = {int(v): base + i for i, v in enumerate(eyeball_of)}
        eye_tri = np.vectorize(remap.get)(tri[in_eye]) if in_eye.any() else tri[:0]
        base2 = base + len(eyeball_of)
        remap2 = {int(v): base2 + i for i, v in enumerate(interior_of)}
        mouth_tri = np.vectorize(remap2.get)(tri[in_mouth]) if in_mouth.any() else tri[:0]
        skin = is_face & ~in_eye & ~in_mouth
        triangles = np.concatenate([tri[~is_face], eye_tri, mouth_tri, tri[skin]]).astype(np.int32)
        layer = np.concatenate(
            [
                np.full(int((~is_face).sum()), BODY),
                np.full(len(eye_tri), EYEBALL),
                np.full(len(mouth_tri), INTERIOR),
                np.full(int(skin.sum()), SKIN),
            ]
        )
        depth = np.concatenate(
            [
                _flatten_sides(mesh),
                _iris_depth(mesh, iris_pts),
                np.full(len(outer), pivot[2] + 0.1 * fw),
            ]
        )
        rest = np.column_stack([flat, depth])
        rest = np.concatenate([rest, rest[eyeball_of], rest[interior_of]])
        head, body = _weights(rest, geo, n_face, (w, h), len(flat), alpha)
        copies = {e: [remap[i] for i in ids if i in remap] for e, ids in iris.items()}
        return cls(
            geo, rest, head, body, triangles, layer, pivot, X.FaceMeasures.of(mesh), copies,
            eyeball_of, interior_of, base, base2, (w, h),
            float(np.clip(1.0 - abs(face.yaw_estimate()) / 40.0, 0.5, 1.0)), face.yaw_estimate(),
            yaw_3d(face),
        )  # fmt: skip

    def positions(self, v: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """Projected (N, 2) vertex positions and (N,) depths for channel values `v`."""
        p = self.rest.copy()
        mesh = p[:468]
        rest = self.rest[:468]
        m = self.measures
        X.brows(mesh, m, v["brows"] + 0.3 * v["wide"], (v["blink_l"], v["blink_r"]))
        X.smile(mesh, rest, m, v["smile"])
        X.jaw(mesh, rest, m, max(0.0, v["mouth"]))
        visemes.shape(mesh, rest, m, v)
        # The eyeball copies take the open lids; the skin's lids then close over them.
        for eye, other in (("l", "r"), ("r", "l")):
            # In a wink the open eye opens a little wider (and its brow rises), as people do.
            wink = max(0.0, v[f"blink_{other}"] - v[f"blink_{eye}"])
            if v["wide"] or wink:
                X.lids(mesh, m, eye, 0.0, v["wide"] + 0.6 * wink)
        copies = np.arange(len(self.eyeball_of)) + self.eyeball_first
        p[copies] = p[self.eyeball_of]
        X.gaze(p, self.iris_copies, m, v.get("gaze_x", 0.0), v.get("gaze_y", 0.0))
        for eye, other in (("l", "r"), ("r", "l")):
            if v[f"blink_{eye}"]:
                X.lids(mesh, m, eye, v[f"blink_{eye}"], 0.0)
            wink = v[f"blink_{eye}"] - v[f"blink_{other}"]
            if wink > 0:
                X.squint(mesh, rest, m, eye, wink)
        self._interior(p, mesh)
        moved, depth = self._turn(p, v)
        return self._body(moved, v), depth

    def sources(self, v: dict[str, float], moved: np.ndarray | None = None) -> np.ndarray:
        """Where in the photo each vertex takes its texture from (N, 2).

        The rest positions, except that closing lids take skin from above the eye, a turn
        draws the face's outline in towards the face (the side of the head coming into view is
        stretched from the photo's thin strip at the face's edge, which holds the matte's edge
        and a little background; taken from just inside, it stretches skin instead), and lips
        parting or closing from where the photo has them (`moved`: this frame's positions) take
        their inner rims from inside the lips (`_lip_sources`).
        """
        src = self.rest[:, :2].copy()
        if moved is not None:
            self._lip_sources(src, moved)
        for eye in ("l", "r"):
            closure = v[f"blink_{eye}"]
            if closure > 0:
                upper, _, crease, _ = (list(ids) for ids in T.EYES[eye])
                # A closing lid is skin: its texture comes from above the lashes and the dark
                # of the eye (stretched, they read as a half-open eye behind glasses).
                lift = src[crease] - src[upper]
                src[upper] += 0.85 * closure * lift
                src[crease] += 0.5 * closure * lift
        turn = min(1.0, (abs(v["yaw"]) + 0.5 * abs(v["pitch"])) / 15.0)
        if turn > 0:
            oval = list(T.FACE_OVAL)
            centre = self.rest[oval, :2].mean(0)
            src[oval] += (centre - src[oval]) * (0.05 * turn)
        return src

    def _lip_sources(self, src: np.ndarray, moved: np.ndarray) -> None:
        """Lips moving apart from where the photo has them take their inner rims' texture from
        inside the lips, not from the line between the lips:
        - parting wider: the mesh's inner lip line runs a pixel or two above the dark seam
          between closed lips, so the lower lip's top strip in the photo is that seam; carried
          down as the jaw drops, it drew a dark band along the opening, and any glint on it as a
          pale notch;
        - closing lips the photo has parted: the rims' edge pixels are half the teeth between
          them, which drew a pale, jagged line along the closed seam.
        """
        upper, lower = list(T.LIP_INNER_UPPER[1:-1]), list(T.LIP_INNER_LOWER[1:-1])
        outer_up, outer_low = list(T.LIP_OUTER_UPPER[1:-1]), list(T.LIP_OUTER_LOWER[1:-1])
        rest = self.rest[:, :2]
        width = max(1.0, self.measures.mouth_width)
        gap_rest = float(np.mean(rest[lower, 1] - rest[upper, 1]))
        gap_now = float(np.mean(moved[lower, 1] - moved[upper, 1]))
        parted = float(np.clip((gap_now - gap_rest) / (0.1 * width), 0.0, 1.0))
        closed = float(np.clip((gap_rest - gap_now) / max(gap_rest, 0.02 * width), 0.0, 1.0))
        src[lower] += LOWER_RIM_SOURCE * max(parted, closed) * (rest[outer_low] - rest[lower])
        src[upper] += CLOSED_RIM_SOURCE * closed * (rest[outer_up] - rest[upper])

    def _interior(self, p: np.ndarray, mesh: np.ndarray) -> None:
        """The mouth's own interior moves with the middle of the upper lip, where the teeth
        sit under it: rigidly, never stretched. (The whole lip's mean moved less than its middle,
        whose rise opened a dark band between the lip and the photo's teeth.)"""
        if not len(self.interior_of):
            return
        upper = list(T.LIP_INNER_UPPER[3:-3])
        shift = (mesh[upper] - self.rest[upper]).mean(0)
        ids = np.arange(len(self.interior_of)) + self.interior_first
        rest = self.rest[self.interior_of]
        p[ids] = rest + shift
        # A smile or a laugh draws the upper lip up past the rigid copy (most at the corners),
        # and what that left uncovered showed the photo unmoved (pale flecks of skin or teeth in
        # the corners) or, inside the opening, was painted as cavity (dark dashes along the lip
        # over the teeth). So the copy's upper edge rises with the lip wherever the lip rose
        # above it (never down: a lip lower than the teeth covers them), and towards the corners
        # its ends follow the lip's sideways too: rigid over the middle three fifths, where the
        # teeth show, then more and more the lip's own corners.
        left, right = T.LIP_INNER_UPPER[0], T.LIP_INNER_UPPER[-1]
        half = float(np.linalg.norm(self.rest[right, :2] - self.rest[left, :2])) / 2
        middle = (self.rest[left, :2] + self.rest[right, :2]) / 2
        out = np.linalg.norm(rest[:, :2] - middle, axis=1) / max(half, 1e-6)
        upper_edge = np.isin(self.interior_of, T.LIP_INNER_UPPER)
        sideways = np.where(upper_edge, np.clip((out - 0.6) / 0.4, 0.0, 1.0), 0.0)
        towards = p[self.interior_of] - p[ids]
        p[ids, 1] += np.where(upper_edge, np.minimum(towards[:, 1], 0.0), 0.0)
        p[ids, 0] += sideways * towards[:, 0]

    def _turn(self, p: np.ndarray, v: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """Rotate about the pivot (yaw, pitch, roll in degrees) and project with perspective."""
        turn = v["yaw"] * (self.reveal if v["yaw"] * self.photo_yaw < 0 else self.away)
        yaw, roll = math.radians(turn), math.radians(v["roll"])
        pitch = math.radians(PITCH_GAIN * v["pitch"])
        c = self.pivot
        distance = CAMERA_DISTANCE * self.geo.width
        # Undo the photo's own perspective, turn, project again.
        rel = p - c
        s0 = distance / (distance - rel[:, 2])
        rel[:, :2] /= s0[:, None]
        cy, sy = math.cos(yaw), math.sin(yaw)
        cp, sp = math.cos(pitch), math.sin(pitch)
        cr, sr = math.cos(roll), math.sin(roll)
        x, y, z = rel[:, 0], rel[:, 1], rel[:, 2]
        x, z = x * cy + z * sy, -x * sy + z * cy
        # The pitch about the head's own left-right axis, turned by the photo's yaw and this
        # turn (about the camera's, a head turned 39° pitches 78% and rolls 63%): turned back
        # to face the camera, pitched, turned again.
        head = yaw + math.radians(self.head_yaw)
        ch, sh = math.cos(head), math.sin(head)
        x, z = x * ch - z * sh, x * sh + z * ch
        y, z = y * cp - z * sp, y * sp + z * cp
        x, z = x * ch + z * sh, -x * sh + z * ch
        x, y = x * cr - y * sr, x * sr + y * cr
        s1 = distance / (distance - z)
        turned = np.column_stack([c[0] + x * s1, c[1] + y * s1])
        weight = self.head[:, None]
        return p[:, :2] + weight * (turned - p[:, :2]), z * self.head + rel[:, 2] * (1 - self.head)

    def _body(self, p: np.ndarray, v: dict[str, float]) -> np.ndarray:
        shift_x, shift_y = body_shift(self.geo, v)
        p[:, 0] += self.body * shift_x
        p[:, 1] += self.body * shift_y
        return p


def _sparse(mesh: np.ndarray, face_width: float) -> np.ndarray:
    """The mesh vertices the triangles use: every point of the eyes, lips, brows, outline and
    nose, and the others thinned to about one per 4.5% of the face's width (where the mesh is
    denser than a face's curvature needs, and every triangle costs time in every frame)."""
    named = [*T.FACE_OVAL, *T.BROWS, *T.NOSE_RIDGE]
    for upper, lower, crease, under in T.EYES.values():
        named += [*upper, *lower, *crease, *under]
    named += [*T.LIP_INNER_UPPER, *T.LIP_INNER_LOWER, *T.LIP_OUTER_UPPER, *T.LIP_OUTER_LOWER]
    keep = list(dict.fromkeys(named))
    spacing = 0.045 * face_width
    kept = mesh[keep, :2]
    for i in range(468):
        if i in keep:
            continue
        if np.min(np.linalg.norm(kept - mesh[i, :2], axis=1)) >= spacing:
            keep.append(i)
            kept = np.vstack([kept, mesh[i, :2]])
    return np.array(sorted(keep))


def _two_part_triangles(
    flat: np.ndarray, face_ids: np.ndarray, size: tuple[int, int]
) -> np.ndarray:
    """Triangles of the face (vertices `face_ids`) inside its convex hull, and of the rest (the
    vertices after the face's) outside it.

    One triangulation of everything could run a triangle from a cheek's inner points to the
    hair, across the face's outline, and the outline would then tear as the head turns.
    """
    w, h = size
    n_face = int(face_ids.max()) + 1
    face = face_ids[_triangulate(flat[face_ids], w, h)]
    hull = face_ids[cv2.convexHull(flat[face_ids].astype(np.float32), returnPoints=False).ravel()]
    ids = np.concatenate([hull, np.arange(n_face, len(flat))])
    outer = ids[_triangulate(flat[ids], w, h)]
    polygon = flat[hull].astype(np.float32).reshape(-1, 1, 2)
    centroid = flat[outer].mean(axis=1)
    out = np.array([cv2.pointPolygonTest(polygon, (float(x), float(y)), False) < 0
                    for x, y in centroid])  # fmt: skip
    tri = np.concatenate([face, outer[out]])
    return tri[_sound(flat, tri)]


def _flatten_sides(mesh: np.ndarray) -> np.ndarray:
    """The mesh's depth, flattened towards the outline's near the sides of the face.

    Near its outline the face runs almost along the line of sight: points a few pixels apart in
    the photo lie far apart in depth, and a turn would unfold that strip many times wider than
    the photo shows it. Flattened there, the near side widens and the far side narrows by what
    the photo's pixels can carry, while the nose, brows and lips keep their full relief.
    """
    oval = mesh[list(T.FACE_OVAL)]
    centre = oval[:, :2].mean(0)
    radii = np.maximum(np.abs(oval[:, :2] - centre).max(0), 1.0)
    r = np.clip(np.hypot(*((mesh[:, :2] - centre) / radii).T), 0, 1)
    base = float(oval[:, 2].mean())
    return base + (mesh[:, 2] - base) * (1 - 0.75 * r**3)


def _sound(points: np.ndarray, tri: np.ndarray) -> np.ndarray:
    e1, e2 = points[tri[:, 1]] - points[tri[:, 0]], points[tri[:, 2]] - points[tri[:, 0]]
    return np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]) > 1e-6


def _eye_polygon(mesh: np.ndarray, eye: str) -> np.ndarray:
    upper, lower, _, _ = T.EYES[eye]
    return mesh[list(upper) + list(lower[::-1]), :2]


def _mouth_polygon(mesh: np.ndarray) -> np.ndarray:
    return mesh[list(T.LIP_INNER_UPPER) + list(T.LIP_INNER_LOWER[::-1]), :2]


def _inside(points: np.ndarray, polygons: list[np.ndarray]) -> np.ndarray:
    result = np.zeros(len(points), bool)
    for poly in polygons:
        contour = poly.astype(np.float32).reshape(-1, 1, 2)
        for i, (x, y) in enumerate(points):
            if cv2.pointPolygonTest(contour, (float(x), float(y)), False) > 0:
                result[i] = True
    return result


def _irises(face: FaceMesh, mesh: np.ndarray, first: int) -> tuple[np.ndarray, dict]:
    """Iris vertices (centre and the two sides) inside each eye's opening, and their indices."""
    points, ids = [], {}
    for eye in ("l", "r"):
        cx, cy, r = face.irises[eye]
        poly = _eye_polygon(mesh, eye).astype(np.float32).reshape(-1, 1, 2)
        mine = []
        for dx in (0.0, -0.8 * r, 0.8 * r):
            if cv2.pointPolygonTest(poly, (cx + dx, cy), True) > 1.0:
                mine.append(first + len(points))
                points.append((cx + dx, cy))
        ids[eye] = mine
    return np.array(points, np.float64).reshape(-1, 2), ids


def _iris_depth(mesh: np.ndarray, iris: np.ndarray) -> np.ndarray:
    if not len(iris):
        return np.zeros(0)
    eyes = mesh[list(T.LID_UPPER_L + T.LID_UPPER_R)]
    near = np.linalg.norm(iris[:, None] - eyes[None, :, :2], axis=2).argmin(axis=1)
    return eyes[near, 2]


def _outer(geo: FaceGeometry, alpha: np.ndarray, face: np.ndarray) -> np.ndarray:
    """Hair arc, matte outline and a ring beyond it, neck base, frame border (2D)."""
    h, w = alpha.shape
    cx = geo.center[0]
    fw = geo.width
    hx, hy, hrx, hry = geo.head
    angles = np.radians(np.linspace(200, 340, 7))
    arc = np.stack([hx + hrx * 0.98 * np.cos(angles), hy + hry * 1.0 * np.sin(angles)], 1)
    outline = _outline(alpha, step=max(8.0, fw / 5))
    near = np.linalg.norm(outline[:, None] - face[None], axis=2).min(axis=1)
    outline = outline[near > 0.15 * fw]
    parts = [arc]
    if len(outline):
        ring = outline + _normals(outline) * (0.18 * fw + 4)
        inside = (ring[:, 0] > 2) & (ring[:, 0] < w - 3) & (ring[:, 1] > 2) & (ring[:, 1] < h - 3)
        parts += [outline, ring[inside]]
    base_y = geo.chin_y + 0.4 * geo.height
    xs = cx + fw * np.array([-1.4, -0.9, -0.45, 0.0, 0.45, 0.9, 1.4])
    neck = np.stack([xs, np.full_like(xs, base_y)], 1)
    parts.append(neck[(neck[:, 0] > 2) & (neck[:, 0] < w - 3) & (base_y < h - 3)])
    parts.append(_border(w, h, n=8))
    points = np.concatenate(parts)
    kind = np.zeros(len(points), int)
    points, _ = _dedupe(np.concatenate([face, points]), np.concatenate([np.zeros(len(face)), kind]))
    return points[len(face) :]


#: Body motion (breathing) fades out this many face widths to each side of the face's centre.
BODY_REACH = 1.6
#: The head's own region, in its ellipse's radii (hair included, `FaceGeometry.head`): the head's
#: turn moves everything inside the first, nothing beyond the second.
HEAD_ZONE = (1.3, 1.7)
#: Body motion fades out this many face widths inside the subject's outline, so that the outline
#: itself (shoulders, arms, held things) stays where the photo has it.
OUTLINE_HOLD = 0.3


def _weights(
    rest: np.ndarray,
    geo: FaceGeometry,
    n_face: int,
    size: tuple[int, int],
    n_flat: int,
    alpha: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Head weight and body weight per vertex.

    The head weight is 1 on the face and on whatever lies near it (hair, ears: they turn with the
    head), fading to 0 further out and down the neck, so the stretch a turn needs falls on the
    background around the head (transparent in the subject's layer) and on the neck. Only the
    head's own region turns: a collar, a shoulder or an arm beside the neck, near the face but
    outside the head's ellipse, stays still.

    Outside the head's region, the subject's outline (`alpha`) stays still under body motion too:
    breathing lifts the chest inside it, not its edge against the background, which the plate
    would show moving (a halo).
    """
    w, h = size
    x, y = rest[:, 0], rest[:, 1]
    hull = cv2.convexHull(rest[:n_face, :2].astype(np.float32))
    outside = np.array(
        [-cv2.pointPolygonTest(hull, (float(px), float(py)), True) for px, py in rest[:, :2]]
    )
    fw = geo.width
    near = np.clip((0.75 * fw - outside) / (0.4 * fw), 0, 1)
    below = np.clip(1 - (y - geo.chin_y - 0.05 * geo.height) / (0.35 * geo.height), 0, 1)
    hx, hy, hrx, hry = geo.head
    ellipse = np.hypot((x - hx) / max(hrx, 1.0), (y - hy) / max(hry, 1.0))
    inner, outer = HEAD_ZONE
    zone = np.clip((outer - ellipse) / (outer - inner), 0, 1)
    # The jaw and the neck under it turn as before (a shake of the head moves the chin's edge).
    zone = np.maximum(zone, np.clip((0.6 * fw - np.abs(x - geo.center[0])) / (0.2 * fw), 0, 1))
    head = near * below * zone
    head[:n_face] = 1.0
    head[n_flat:] = 1.0
    border = (x <= 0.5) | (x >= w - 1.5) | (y <= 0.5) | (y >= h - 1.5)
    head[:n_flat][border[:n_flat]] = 0.0
    shoulders = geo.chin_y + 0.5 * geo.height
    span = max(0.6 * geo.height, (h - 1) - shoulders)
    body = np.clip(((h - 1) - y) / span, 0, 1)
    # Breathing moves the chest and shoulders, not what lies beyond them: the learned matte takes
    # in the arms and whatever is held (a helmet, a glass), which stay still.
    across = np.abs(x - geo.center[0])
    body *= np.clip((BODY_REACH * fw - across) / (0.5 * fw), 0, 1)
    if alpha is not None:
        inside = cv2.distanceTransform((alpha > 0.5).astype(np.uint8), cv2.DIST_L2, 3)
        px = np.clip(np.round(x).astype(int), 0, w - 1)
        py = np.clip(np.round(y).astype(int), 0, h - 1)
        hold = np.clip(inside[py, px] / (OUTLINE_HOLD * fw), 0, 1)
        body[:n_flat] *= np.maximum(hold, zone)[:n_flat]
    body[:n_flat][border[:n_flat]] = 0.0
    return head, body
