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
from subject2video.engines.portrait.render import Grid, Lattices, Renderer
from subject2video.engines.portrait.rig3d import BODY, SKIN, Rig3D
from subject2video.engines.portrait.scene import Grader

INNER = list(T.LIP_INNER_UPPER) + list(T.LIP_INNER_LOWER[::-1])


class Renderer3D(Renderer):
    """Holds what every frame shares; `render3d()` makes one frame from the rig's positions."""

    #: The fine grid covers the whole head (the turning head's outline is sharp, not blended).
    FINE_WIDTH = 160.0

    def __init__(self, image: np.ndarray, alpha: np.ndarray, plate: np.ndarray, rig: Rig3D) -> None:
        super().__init__(image, alpha, plate, rig)  # type: ignore[arg-type]
        self.rig3d = rig
        rest = rig.rest[:, :2]
        tri = rest[rig.triangles]
        e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
        self._rest_sign = np.sign(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
        self._source = rest
        self._skin = rig.layer == SKIN
        self._depth = np.zeros(len(rig.rest))
        self.mouth = MouthPainter.of(image, rig.mesh)
        self.lashes = {eye: _lash_colour(image, rig.mesh, eye) for eye in ("l", "r")}
        # The photo's own interior, as copies that follow the upper jaw (see Rig3D).
        copies = {int(v): rig.interior_first + i for i, v in enumerate(rig.interior_of)}
        self._own = [copies.get(i, i) for i in INNER]

    def grade(self, grader: Grader) -> None:
        """`Renderer.grade`, and the palettes of the lashes and the mouth graded with it."""
        super().grade(grader)
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
    ) -> Lattices:
        """A frame's geometry (`Renderer.lattices`) for its positions, depths and sources."""
        self._depth, self._source = depth, source
        return self.lattices(positions, body)

    def compose3d(
        self,
        lattices: Lattices,
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
        frame = self.compose(lattices, positions, 0.0, backdrop)
        for eye, closure in zip(("l", "r"), closures, strict=True):
            if closure > 0.2:
                _close_lid(frame, positions, eye, closure, self.lashes[eye])
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

    def _maps(self, grid: Grid, positions: np.ndarray, affines: tuple) -> tuple:
        """As the 2D renderer's, but the coarse grid leaves out the face's triangles that lie
        well inside the fine grid's rectangle, which replaces the coarse tables there."""
        if grid is not self.coarse:
            return super()._maps(grid, positions, affines)
        rows, order = affines
        x0, y0, x1, y1 = self.face_box
        margin = 3.0 / 0.2 + 2  # a few coarse cells: the tables are blended near the edge
        corners = positions[self.rig3d.triangles]
        lo, hi = corners.min(axis=1), corners.max(axis=1)
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
        rows = np.empty((len(tri) + 1, 6), np.float32, order="F")
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


def _close_lid(
    frame: np.ndarray, positions: np.ndarray, eye: str, closure: float, lash: np.ndarray
) -> None:
    """Finish a closing lid, in place: soften it (stretched from a thin strip of the photo, it
    carries the strip's lines drawn out into streaks, where a lid is smooth skin), and draw the
    lashes along its edge, as a closed eye shows them."""
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
    weight = mask[..., None]
    lid = soft * weight + patch * (1 - weight)
    line = np.zeros(mask.shape, np.float32)
    edge = np.round((positions[list(upper)] - origin) * 16).astype(np.int32)
    thick = max(1, round(0.09 * width))
    cv2.polylines(line, [edge], False, 1.0, thick, cv2.LINE_AA, 4)
    line = cv2.GaussianBlur(line, (0, 0), 0.6) * float(np.clip((closure - 0.5) / 0.4, 0, 1))
    lid = lid * (1 - line[..., None]) + lash * line[..., None]
    frame[y0:y1, x0:x1, :3] = np.clip(lid + 0.5, 0, 255).astype(np.uint8)
