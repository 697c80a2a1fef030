"""Rendering the 3D rig: the 2D renderer's backward warp, drawn back to front.

Per pixel, the last triangle drawn wins, so triangles are drawn by layer (the still body and
frame, the eyeballs, the mouth's interior, then the skin) and the skin from the far side of the
head to the near: as the head turns, the nose covers the far cheek, and the far cheek's turned-away
triangles go under everything else. The open mouth's new interior is painted last, inside the
lips.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from subject2video.engines.portrait import topology as T
from subject2video.engines.portrait.mouth import MouthPainter
from subject2video.engines.portrait.render import Grid, Renderer, triangle_areas, triangle_bounds
from subject2video.engines.portrait.rig3d import BODY, SKIN, Rig3D
from subject2video.engines.portrait.scene import Grader

INNER = list(T.LIP_INNER_UPPER) + list(T.LIP_INNER_LOWER[::-1])

#: The far side's mirrored texture on the face's lattice: remap tables into the photo and the
#: weight of the mirrored pixels (`MirrorTexture.lattice`), or None where it shows nowhere.
MirrorLattice = tuple[np.ndarray, np.ndarray, np.ndarray] | None
#: A frame's geometry in 3D: `Lattices` and the far side's mirrored texture.
Lattices3D = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], MirrorLattice]


class Renderer3D(Renderer):
    """Holds what every frame shares; `render3d()` makes one frame from the rig's positions."""

    #: The fine grid covers the whole head (the turning head's outline is sharp, not blended).
    FINE_WIDTH = 160.0

    def __init__(self, image: np.ndarray, alpha: np.ndarray, plate: np.ndarray, rig: Rig3D) -> None:
        super().__init__(image, alpha, plate, rig)  # type: ignore[arg-type]
        self.rig3d = rig
        rest = rig.rest[:, :2]
        self._rest_sign = np.sign(triangle_areas(rest[rig.triangles]))
        self._source = rest
        self._skin = rig.layer == SKIN
        self._depth = np.zeros(len(rig.rest))
        self.mouth = MouthPainter.of(image, rig.mesh)
        self.lashes = {eye: _lash_colour(image, rig.mesh, eye) for eye in ("l", "r")}
        # The photo's own interior, as copies that follow the upper jaw (see Rig3D).
        copies = {int(v): rig.interior_first + i for i, v in enumerate(rig.interior_of)}
        self._own = [copies.get(i, i) for i in INNER]
        #: The far side's edge-on skin, textured from the near side's mirror image as a turn
        #: brings it into view (None for a photo that faces the camera).
        self.mirror = MirrorTexture.of(rig, self._rest_sign)
        self._mirrored: MirrorLattice = None

    def grade(self, grader: Grader) -> None:
        """`Renderer.grade`, and the palettes of the lashes and the mouth graded with it."""
        super().grade(grader)
        if self.mirror is not None:
            self.mirror.gain = None
        self.lashes = {eye: grader.colour(c) for eye, c in self.lashes.items()}
        m = self.mouth
        self.mouth = replace(
            m, dark=grader.colour(m.dark), teeth=grader.colour(m.teeth),
            tongue=grader.colour(m.tongue), lip=grader.colour(m.lip),
        )  # fmt: skip

    def _face_box(self) -> tuple[int, int, int, int]:
        """The fine grid's rectangle: the head with its hair, to below the chin."""
        geo = self.rig.geo
        hx, hy, hrx, hry = geo.head
        rx0, ry0, rx1, ry1 = self.roi
        bottom = max(hy + 1.1 * hry, geo.chin_y + 0.35 * geo.width)
        return (
            max(rx0, int(hx - 1.25 * hrx)),
            max(ry0, int(hy - 1.15 * hry)),
            min(rx1, int(hx + 1.25 * hrx) + 1),
            min(ry1, int(bottom) + 1),
        )

    def body_maps3d(
        self, positions: np.ndarray, depth: np.ndarray, source: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The coarse grid's remap tables for one frame's positions, depths and sources."""
        self._depth, self._source = depth, source
        return self.body_maps(positions)

    def lattices3d(
        self,
        positions: np.ndarray,
        depth: np.ndarray,
        source: np.ndarray,
        body: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> Lattices3D:
        """A frame's geometry (`Renderer.lattices`) for its positions, depths and sources, and
        the far side's mirrored texture (`MirrorTexture`)."""
        self._depth, self._source = depth, source
        if self.mirror is None:
            return (*self.lattices(positions, body), None)
        if body is None:
            body = self.body_maps(positions)
        rows, order = self._affines_of(positions)
        index = self._index(self.fine, positions, order)
        face = self._lookup(self.fine, rows, index)
        mirror = self.mirror.lattice(self._lattice[self.fine], positions, source, index)
        return body, face, mirror

    def compose3d(
        self,
        lattices: Lattices3D,
        positions: np.ndarray,
        mouth_open: float,
        closures: tuple[float, float] = (0.0, 0.0),
        *,
        tongue: float = 0.0,
        retract: float = 0.0,
        backdrop: np.ndarray | None = None,
    ) -> np.ndarray:
        """A frame's pixels (RGBA) from its lattices: the moved subject over the plate, the
        closing lids, the open mouth (`tongue` and `retract` shape it: `MouthPainter.paint`) and
        the lips' seam; `backdrop` moves the plate (`Renderer.compose`)."""
        body, face, self._mirrored = lattices
        frame = self.compose((body, face), positions, 0.0, backdrop)
        cover = (self._moved[..., 3], (self.roi[0], self.roi[1]))
        for eye, closure in zip(("l", "r"), closures, strict=True):
            if closure > 0.2:
                _close_lid(frame, positions, eye, closure, self.lashes[eye], cover)
        if mouth_open > 0.01:
            self.mouth.paint(
                frame, positions[INNER], positions[self._own], tongue=tongue, retract=retract
            )
        self.mouth.seam(frame, positions[INNER])
        return frame

    def render3d(
        self,
        positions: np.ndarray,
        depth: np.ndarray,
        source: np.ndarray,
        mouth_open: float,
        closures: tuple[float, float] = (0.0, 0.0),
        body: tuple[np.ndarray, np.ndarray] | None = None,
        *,
        tongue: float = 0.0,
        retract: float = 0.0,
        backdrop: np.ndarray | None = None,
    ) -> np.ndarray:
        """The frame (RGBA) for one frame's positions, depths, sources (`lattices3d`, then
        `compose3d`)."""
        lattices = self.lattices3d(positions, depth, source, body)
        return self.compose3d(
            lattices, positions, mouth_open, closures,
            tongue=tongue, retract=retract, backdrop=backdrop,
        )  # fmt: skip

    def _touch_up(self, moved: np.ndarray) -> None:
        """The far side's mirrored texture blended into the moved subject (`MirrorTexture`)."""
        if self._mirrored is None or self.mirror is None:
            return
        fine = self.fine
        shown = cv2.findNonZero((self._mirrored[2] > 0).astype(np.uint8))
        if shown is None:
            return
        # The tables enlarged to full size (as `compose` enlarges the face's) over the box of
        # the lattice points with any weight, a point to each side.
        lx, ly, lw, lh = cv2.boundingRect(shown)
        sx, sy = fine.w / fine.gw, fine.h / fine.gh
        bx = max(0, int(np.floor((lx - 0.5) * sx - 0.5)))
        by = max(0, int(np.floor((ly - 0.5) * sy - 0.5)))
        bw = min(fine.w, int(np.ceil((lx + lw + 0.5) * sx + 0.5))) - bx
        bh = min(fine.h, int(np.ceil((ly + lh + 0.5) * sy + 0.5))) - by
        at_x = ((np.arange(bx, bx + bw) + 0.5) / sx - 0.5).astype(np.float32)
        at_y = ((np.arange(by, by + bh) + 0.5) / sy - 0.5).astype(np.float32)
        grid_x, grid_y = np.meshgrid(at_x, at_y)
        map_x, map_y, weight = (
            cv2.remap(table, grid_x, grid_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            for table in self._mirrored
        )
        twin = cv2.remap(
            self.subject, map_x, map_y, self._resample, borderMode=cv2.BORDER_REPLICATE
        ).astype(np.float32)
        twin *= self.mirror.shade(self.subject).astype(np.float32)
        x0 = self.face_box[0] - self.roi[0] + bx
        y0 = self.face_box[1] - self.roi[1] + by
        # The colour only: the subject's outline stays the matte's (where it leaves the far
        # side's strip out, as a bright window beyond a profile, the mirrored skin would lie
        # over it half seen, a ghost of a cheek).
        region = moved[y0 : y0 + bh, x0 : x0 + bw, :3]
        mixed = region + (twin[..., :3] - region) * weight[..., None]
        region[:] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)

    def _maps(self, grid: Grid, positions: np.ndarray, affines: tuple) -> tuple:
        """As the 2D renderer's, but the coarse grid leaves out the face's triangles that lie
        well inside the fine grid's rectangle, which replaces the coarse tables there."""
        if grid is not self.coarse:
            return super()._maps(grid, positions, affines)
        rows, order = affines
        x0, y0, x1, y1 = self.face_box
        margin = 3.0 / 0.2 + 2  # a few coarse cells: the tables are blended near the edge
        lo, hi = triangle_bounds(positions[self.rig3d.triangles])
        inside = (
            (lo[:, 0] > x0 + margin) & (lo[:, 1] > y0 + margin)
            & (hi[:, 0] < x1 - margin) & (hi[:, 1] < y1 - margin)
        )  # fmt: skip
        return super()._maps(grid, positions, (rows, order[~inside[order]]))

    def _affines(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per triangle, the affine map from the frame back to the photo (after an identity
        row), and the drawing order: by layer, the skin far to near, turned-away skin left out."""
        tri = self.rig3d.triangles
        p0, p1, p2 = (positions[tri[:, i]] for i in range(3))
        s0, s1, s2 = (self._source[tri[:, i]] for i in range(3))
        e1, e2, f1, f2 = p1 - p0, p2 - p0, s1 - s0, s2 - s0
        det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
        sound = np.abs(det) > 1e-3
        inv = 1.0 / np.where(sound, det, 1.0)
        # The affine taking each triangle's corners (frame) to their sources (photo), in closed
        # form: source = s0 + f1 * a + f2 * b, where (a, b) are the point's coordinates along
        # the triangle's edges.
        cx = (f1 * e2[:, 1:2] - f2 * e1[:, 1:2]) * inv[:, None]
        cy = (f2 * e1[:, 0:1] - f1 * e2[:, 0:1]) * inv[:, None]
        c0 = s0 - cx * p0[:, 0:1] - cy * p0[:, 1:2]
        rows = np.empty((len(tri) + 1, 6), np.float32)
        rows[0] = (1, 0, 0, 0, 1, 0)
        rows[1:, 0], rows[1:, 1], rows[1:, 2] = cx[:, 0], cy[:, 0], c0[:, 0]
        rows[1:, 3], rows[1:, 4], rows[1:, 5] = cx[:, 1], cy[:, 1], c0[:, 1]
        rows[1:][~sound] = (1, 0, 0, 0, 1, 0)
        # Skin turned away from the viewer (its corners now run the other way round) is drawn
        # first of the skin: at the silhouette it shows as a thin fold, anywhere else the near
        # side covers it.
        away = (np.sign(det) != self._rest_sign) & self._skin
        near = self._depth[tri].mean(axis=1)
        skin_key = np.where(away, 4.0, 10.0 + near / (1.0 + np.abs(near).max()))
        key = np.where(self._skin, skin_key, self.rig3d.layer)
        # The still body and frame, most squeezed first, as in the 2D renderer: rasterised on the
        # coarse grid, a triangle also claims lattice points just past its edges, and a sliver's
        # steep map extrapolated there reaches far across the photo (a body triangle folded
        # against the frame border by a sway drew a copy of an eye at the frame's edge). Drawn
        # first, its neighbours take those points back.
        squeeze = self._rest_area / np.maximum(np.abs(det) / 2, 1e-6)
        body = ~self._skin & (self.rig3d.layer == BODY)
        order = np.lexsort((np.where(body, -squeeze, 0.0), key))
        return rows, order[sound[order]]


#: Far-side skin whose triangle the photo shows at this share of its mirror image's area (or
#: less) starts taking its texture from the mirror image, and entirely from the second share on.
MIRROR_FORESHORTENED = (0.6, 0.2)
#: Only a photo turned at least this far (degrees, `Rig3D.photo_yaw`) has a far side to mirror.
MIRROR_MIN_YAW = 20.0
#: The far side's mirrored skin shows in full once the turn has stretched its triangles this
#: many times more than the face's skin as a whole, and not at all up to the first figure.
MIRROR_STRETCH = (1.1, 1.6)
#: The far side's shade against its twins' (mean colours, per channel) is taken within these
#: bounds, and this share of it (as a power): the far side seen edge-on in the photo reads
#: darker than its skin is (the eye's socket, make-up, shadow, some wall), and at full strength
#: the mirrored skin took the wall's colour.
MIRROR_SHADE = (0.6, 1.1)
MIRROR_SHADE_SHARE = 0.5


class MirrorTexture:
    """The far side of a face turned in the photo, textured from the near side's mirror image.

    The photo shows the far side edge-on: the strip it has between the nose's profile and the far
    cheek's outline is partly the wall beyond the profile, and a turn back towards the camera
    stretches that strip across the cheek. The face mesh is left-right symmetric
    (`topology.mirror_pairs`), so each far-side point has a twin on the near side, which the
    photo shows face on. The far side's edge-on triangles are drawn a second time from their
    twins' triangles in the photo (an affine map that mirrors), and blended over their own
    pixels by how edge-on the photo shows them: from nothing along the seam with the skin that
    keeps its own texture (the nose's ridge, the far eye's rims, the lips' inner edge, the
    triangles the photo shows well), so the far eye's own lids and no seam show, to all of it
    where the photo's strip is thinnest. The mirrored skin fades in as the frame reveals the far
    side (`amount`): a face at rest, or turned further away, is drawn from its own pixels, as
    before.
    """

    def __init__(
        self,
        rig: Rig3D,
        switched: np.ndarray,
        weight: np.ndarray,
        twins: np.ndarray,
        edge_on: np.ndarray,
    ) -> None:
        self.rig = rig
        #: The far side's triangles that take mirrored texture (indices into `rig.triangles`).
        self.switched = switched
        #: Per mesh point, the share of its texture that comes from its twin (0 on the seam).
        self.weight = weight
        self.twins = twins
        self._tri = rig.triangles[switched]
        #: Triangle (1 + index into `rig.triangles`, as the lattice's index) -> 1 + its place
        #: among the switched ones, 0 for the others.
        self._slot = np.zeros(len(rig.triangles) + 1, np.int32)
        self._slot[switched + 1] = np.arange(1, len(switched) + 1)
        self._skin_tri = rig.triangles[rig.layer == SKIN]
        self._skin_rest = triangle_areas(rig.rest[self._skin_tri, :2])
        self._rest = triangle_areas(rig.rest[self._tri, :2])
        self._edge_on = edge_on
        #: Per channel, the far side's shade against the near side's (`shade`).
        self.gain: np.ndarray | None = None

    def shade(self, subject: np.ndarray) -> np.ndarray:
        """Per channel (RGBA), what the twins' pixels are multiplied by to take some of the far
        side's shade (the light often comes from the near side): the mean colour of the
        switched triangles the photo shows least edge-on over their twins', within
        `MIRROR_SHADE`, to the power `MIRROR_SHADE_SHARE`. Made once from the renderer's
        (graded) pixels; a new grade forgets it."""
        if self.gain is not None:
            return self.gain
        h, w = subject.shape[:2]
        own_mask = np.zeros((h, w), np.float32)
        twin_mask = np.zeros((h, w), np.float32)
        rest = self.rig.rest[:, :2]
        for corners, edge_on in zip(self._tri, self._edge_on, strict=True):
            if edge_on < 0.5:
                for mask, ids in ((own_mask, corners), (twin_mask, self.twins[corners])):
                    polygon = np.round(rest[ids] * 16).astype(np.int32)
                    cv2.fillConvexPoly(mask, polygon, 1.0 - edge_on, cv2.LINE_8, 4)
        gain = np.ones(4)
        if own_mask.sum() > 20 and twin_mask.sum() > 20:
            colour = subject[..., :3].astype(np.float64)
            own = (colour * own_mask[..., None]).sum((0, 1)) / own_mask.sum()
            twin = (colour * twin_mask[..., None]).sum((0, 1)) / twin_mask.sum()
            ratio = np.clip(own / np.maximum(twin, 1.0), MIRROR_SHADE[0], MIRROR_SHADE[1])
            gain[:3] = ratio**MIRROR_SHADE_SHARE
        self.gain = gain
        return gain

    @classmethod
    def of(cls, rig: Rig3D, rest_sign: np.ndarray) -> MirrorTexture | None:
        """The far side's mirrored texture for a rig, or None where the photo faces the
        camera."""
        if abs(rig.photo_yaw) < MIRROR_MIN_YAW:
            return None
        twins = T.mirror_pairs()
        tri = rig.triangles
        index = np.arange(468)
        # The far side: the half the nose points away from (`FaceMesh.yaw_estimate`).
        far = twins > index if rig.photo_yaw < 0 else twins < index
        ids = np.minimum(tri, 467)
        mesh_skin = (rig.layer == SKIN) & np.all(tri < 468, axis=1)
        on_far = np.all(far[ids] | (twins[ids] == ids), axis=1) & np.any(far[ids], axis=1)
        candidate = mesh_skin & on_far
        # How edge-on the photo shows each triangle: its area against its twin's (mirrored, so
        # the other way round); folded over (seen from behind), nothing.
        rest = rig.rest[:, :2]
        own = triangle_areas(rest[ids]) * rest_sign
        mirrored = -triangle_areas(rest[twins[ids]]) * rest_sign
        share = np.where(own > 0, own / np.maximum(mirrored, 1e-6), 0.0)
        hi, lo = MIRROR_FORESHORTENED
        edge_on = np.where(candidate, np.clip((hi - share) / (hi - lo), 0.0, 1.0), 0.0)
        # Per point, the mean over its far triangles; nothing where it also belongs to skin that
        # keeps the photo's texture (the seam), nor on the eyes' and the lips' inner rims, whose
        # other side (the eyeball, the mouth's interior) keeps its own.
        corners = tri[candidate].ravel()
        total = np.bincount(corners, np.repeat(edge_on[candidate], 3), 468)
        weight = total / np.maximum(np.bincount(corners, minlength=468), 1)
        kept = tri[(rig.layer != BODY) & ~candidate].ravel()
        seam = np.zeros(468, bool)
        seam[kept[kept < 468]] = True
        seam[list(T.MIDLINE)] = True
        for upper, lower, _, _ in T.EYES.values():
            seam[list(upper) + list(lower)] = True
        seam[list(T.LIP_INNER_UPPER) + list(T.LIP_INNER_LOWER)] = True
        weight[seam] = 0.0
        switched = np.nonzero(candidate & (weight[ids].max(axis=1) > 0))[0]
        if not len(switched):
            return None
        return cls(rig, switched, weight, twins, edge_on[switched])

    def amount(self, positions: np.ndarray) -> float:
        """How much of the mirrored skin this frame shows (0-1): by how much more than the
        face's skin as a whole the frame stretches the switched triangles over the photo's."""
        skin = np.maximum(triangle_areas(positions[self._skin_tri]) * np.sign(self._skin_rest), 0.0)
        whole = float(skin.sum()) / max(float(np.abs(self._skin_rest).sum()), 1e-6)
        mine = np.maximum(triangle_areas(positions[self._tri]) * np.sign(self._rest), 0.0)
        stretch = float(mine.sum()) / max(float(np.abs(self._rest).sum()), 1e-6)
        lo, hi = MIRROR_STRETCH
        return float(np.clip((stretch / max(whole, 1e-6) - lo) / (hi - lo), 0.0, 1.0))

    def lattice(
        self,
        points: tuple[np.ndarray, np.ndarray],
        positions: np.ndarray,
        source: np.ndarray,
        index: np.ndarray,
    ) -> MirrorLattice:
        """The mirrored texture on the face's lattice (its points' frame coordinates `points`,
        the triangle drawn at each `index`, as `Renderer._index`): remap tables into the photo
        from the twins' triangles, and each point's weight (the points' weights, times
        `amount`). Just past the switched triangles the tables go on (their maps extended) at no
        weight, so that tables enlarged to full size blend into nothing rather than across the
        photo."""
        amount = self.amount(positions)
        if amount <= 0:
            return None
        slot = self._slot[index]
        if not slot.any():
            return None
        grown = cv2.dilate(slot.astype(np.float32), np.ones((3, 3), np.uint8), iterations=2)
        near = np.where(slot > 0, slot, grown.astype(np.int32))
        tri = self._tri
        # The twins' sources, moved as this frame moves the points' own (mirrored across).
        moved = source[tri] - self.rig.rest[tri, :2]
        moved[..., 0] *= -1
        twin = self.rig.rest[self.twins[tri], :2] + moved
        m = np.concatenate([positions[tri], np.ones((len(tri), 3, 1))], axis=2)
        sound = np.abs(np.linalg.det(m)) > 1e-3
        m[~sound] = np.eye(3)
        values = np.concatenate([twin, self.weight[tri][..., None] * amount], axis=2)
        rows = np.zeros((len(tri) + 1, 3, 3))
        rows[1:] = np.linalg.solve(m, values)
        rows[1:][~sound] = 0.0
        rows = np.asfortranarray(rows.reshape(-1, 9))
        # Worked out over the box the switched triangles cover, at no weight elsewhere.
        bx, by, bw, bh = cv2.boundingRect((near > 0).astype(np.uint8))
        box = np.s_[by : by + bh, bx : bx + bw]
        gx, gy, at = points[0][box], points[1][box], near[box]
        tables = [np.zeros(slot.shape, np.float32) for _ in range(3)]
        for k, table in enumerate(tables):
            a, b, c = (np.take(rows[:, 3 * j + k], at) for j in range(3))
            table[box] = a * gx + b * gy + c
        map_x, map_y, weight = tables
        weight[box] = np.where(slot[box] > 0, np.clip(weight[box], 0.0, 1.0), 0.0)
        return map_x, map_y, weight


def _lash_colour(image: np.ndarray, mesh: np.ndarray, eye: str) -> np.ndarray:
    """The colour of the lashes along an eye's upper lid: the darkest third of a band there."""
    upper = mesh[list(T.EYES[eye][0]), :2]
    mask = np.zeros(image.shape[:2], np.uint8)
    width = float(np.linalg.norm(upper[0] - upper[-1]))
    cv2.polylines(mask, [np.round(upper).astype(np.int32)], False, 255, max(1, round(0.08 * width)))
    pixels = image[mask > 0][:, :3].astype(np.float32)
    if len(pixels) < 3:
        return np.array([40.0, 30.0, 30.0])
    light = pixels.sum(1)
    return np.median(pixels[light <= np.quantile(light, 0.33)], axis=0)


#: A closed eye's lash line: at its thickest (the middle of the lid; a quarter of it at the
#: corners) this share of the eye's width, and at most this opaque. A closed eye shows a fine
#: line: the lid's edge drawn at 0.09 of the width, opaque and even, read as a painted bar on a
#: close-up (8 px on an eye 85 px wide).
LASH_THICKNESS = 0.05
LASH_OPACITY = 0.85


def _close_lid(
    frame: np.ndarray,
    positions: np.ndarray,
    eye: str,
    closure: float,
    lash: np.ndarray,
    cover: tuple[np.ndarray, tuple[int, int]] | None = None,
) -> None:
    """Finish a closing lid, in place: soften it (stretched from a thin strip of the photo, it
    carries the strip's lines drawn out into streaks, where a lid is smooth skin), and draw the
    lashes along its edge, as a closed eye shows them. `cover`, the moved subject's matte and
    where it lies in the frame, keeps both off what is not the subject (a far eye's corner that
    a turn takes past the face's outline)."""
    upper, _, crease, _ = T.EYES[eye]
    polygon = np.concatenate([positions[list(crease)], positions[list(upper)][::-1]])
    x0, y0 = np.floor(polygon.min(0)).astype(int) - 4
    x1, y1 = np.ceil(polygon.max(0)).astype(int) + 5
    h, w = frame.shape[:2]
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return
    origin = np.array([x0, y0])
    mask = np.zeros((y1 - y0, x1 - x0), np.float32)
    cv2.fillPoly(mask, [np.round(polygon - origin).astype(np.int32)], 1.0)
    width = float(np.linalg.norm(positions[upper[0]] - positions[upper[-1]]))
    mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, 0.05 * width)) * min(1.0, closure) * 0.8
    patch = frame[y0:y1, x0:x1, :3]
    soft = cv2.GaussianBlur(patch, (0, 0), max(0.8, 0.04 * width)).astype(np.float32)
    line = _lash_line(mask.shape, positions[list(upper)] - origin, width)
    line *= LASH_OPACITY * float(np.clip((closure - 0.5) / 0.4, 0, 1))
    if cover is not None:
        seen = _seen_share(cover, (x0, y0, x1, y1))
        mask *= seen
        line *= seen
    weight = mask[..., None]
    lid = soft * weight + patch * (1 - weight)
    lid = lid * (1 - line[..., None]) + lash * line[..., None]
    frame[y0:y1, x0:x1, :3] = np.clip(lid + 0.5, 0, 255).astype(np.uint8)


def _lash_line(shape: tuple[int, ...], edge: np.ndarray, width: float) -> np.ndarray:
    """The lashes of a closed eye along the lid's edge (`edge`, its points in the patch's
    pixels): a band thickest in the middle and tapering to the corners, hanging mostly below the
    edge, soft (0-1, float32)."""
    s = np.linspace(0.0, 1.0, len(edge))
    half = 0.5 * max(0.8, LASH_THICKNESS * width) * (0.25 + 0.75 * np.sin(np.pi * s))
    along = np.gradient(edge, axis=0)
    along /= np.linalg.norm(along, axis=1, keepdims=True) + 1e-9
    down = np.stack([-along[:, 1], along[:, 0]], axis=1)
    down = np.where(down[:, 1:2] < 0, -down, down)  # the image's y grows downwards
    band = np.concatenate(
        [edge - down * (0.6 * half)[:, None], (edge + down * (1.4 * half)[:, None])[::-1]]
    )
    line = np.zeros(shape, np.float32)
    cv2.fillPoly(line, [np.round(band * 16).astype(np.int32)], 1.0, cv2.LINE_AA, 4)
    return cv2.GaussianBlur(line, (0, 0), 0.6)


def _seen_share(
    cover: tuple[np.ndarray, tuple[int, int]], box: tuple[int, int, int, int]
) -> np.ndarray:
    """The subject's matte (0-1) over `box` of the frame, from `cover` (the moved subject's
    alpha, 0-255, and its top-left corner in the frame); 0 outside it."""
    alpha, (ax, ay) = cover
    x0, y0, x1, y1 = box
    seen = np.zeros((y1 - y0, x1 - x0), np.float32)
    ix0, iy0 = max(x0, ax), max(y0, ay)
    ix1, iy1 = min(x1, ax + alpha.shape[1]), min(y1, ay + alpha.shape[0])
    if ix1 > ix0 and iy1 > iy0:
        seen[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0] = (
            alpha[iy0 - ay : iy1 - ay, ix0 - ax : ix1 - ax] / 255.0
        )
    return seen
