"""Rendering one frame: a piecewise-affine backward warp of the subject over the plate.

A frame's geometry (`Renderer.lattices`): the deformed mesh, already in the camera's view, is
rasterised on two small grids (the subject's box at a fifth of full size, the face at up to full
size so that eyelids and lips stay sharp), and each grid point takes the affine map of its
triangle back to the photo. Its pixels (`Renderer.compose`): the grids are enlarged to full-size
remap tables, one `cv2.remap` moves the subject from the photo (colour and matte together, as
RGBA), and it is laid over the plate (warped once by the camera, if it moves); the inner mouth is
drawn where the lips part.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from subject2video.engines.portrait.mesh import INNER_MOUTH, Rig
from subject2video.engines.portrait.scene import Grader

MOUTH_COLOUR = (52, 20, 22, 255)
#: A camera that enlarges the photo this much or more (only a push from the photo's wide view
#: to the framed close-up does: plain pushes, pans and lens moves stay under 1.25) resamples it
#: bicubically: bilinear interpolation blurs the face it enlarges 3.4x at the push's end.
CUBIC_ZOOM = 1.5
#: A point that moves at most this many pixels in the whole video is still (`keep_still`).
STILL_MOVE = 0.5

#: A frame's remap tables on the body's lattice and on the face's: (x, y) each.
Lattices = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Grid:
    """A rectangle of the frame (x0, y0, w, h) sampled on a (gw, gh) lattice."""

    x0: int
    y0: int
    w: int
    h: int
    gw: int
    gh: int

    @classmethod
    def over(cls, box: tuple[int, int, int, int], scale: float) -> Grid:
        x0, y0, x1, y1 = box
        w, h = x1 - x0, y1 - y0
        return cls(x0, y0, w, h, max(2, round(w * scale)), max(2, round(h * scale)))

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """Frame coordinates of the lattice's points (pixel centres, cv2.resize's convention)."""
        xs = self.x0 + (np.arange(self.gw) + 0.5) * self.w / self.gw - 0.5
        ys = self.y0 + (np.arange(self.gh) + 0.5) * self.h / self.gh - 0.5
        return np.meshgrid(xs, ys)

    def to_grid(self, p: np.ndarray) -> np.ndarray:
        """Frame coordinates to lattice coordinates."""
        return np.stack(
            [(p[:, 0] - self.x0 + 0.5) * self.gw / self.w - 0.5,
             (p[:, 1] - self.y0 + 0.5) * self.gh / self.h - 0.5], 1,
        )  # fmt: skip


class Renderer:
    """Holds what every frame shares: the RGBA subject, the plate, the grids, the rig."""

    #: The face's own grid is at most this many points wide.
    FINE_WIDTH = 160.0

    def __init__(self, image: np.ndarray, alpha: np.ndarray, plate: np.ndarray, rig: Rig) -> None:
        h, w = alpha.shape
        self.rig = rig
        self.size = (w, h)
        self.subject = np.dstack([image, np.round(alpha * 255).astype(np.uint8)])
        self.plate = cv2.cvtColor(plate, cv2.COLOR_RGB2RGBA)
        geo = rig.geo
        margin = int(0.4 * geo.width + 10)
        ys, xs = np.nonzero(alpha > 0.01)
        self.roi = _clip(
            (xs.min() - margin, ys.min() - margin, xs.max() + margin + 1, ys.max() + margin + 1),
            w,
            h,
        )
        self.face_box = self._face_box()
        #: The photo's subject box and face box, before any camera (`follow_camera`).
        self._still = (self.roi, self.face_box)
        self._frame = self.plate.copy()
        #: The 2D mouth's interior colour (RGBA), graded with the photo (`grade`).
        self._mouth_colour: tuple[float, ...] = MOUTH_COLOUR
        self._recent: list[tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]] = []
        #: How the photo is resampled: bilinearly, bicubically under a camera that enlarges it
        #: `CUBIC_ZOOM` times or more (`follow_camera`).
        self._resample = cv2.INTER_LINEAR
        self._layout(self.FINE_WIDTH)
        self._rest_area = np.abs(triangle_areas(rig.rest[rig.triangles]))
        #: Whether the plate is out of focus (`soft_plate`), and then the plate at half size,
        #: a half-size buffer for its move, and the map from full-size pixels to half-size
        #: ones and back (made at the first frame that moves it).
        self._soft = False
        self._half: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    def grade(self, grader: Grader) -> None:
        """Grade the photo's pixels once (the subject's and the plate's) rather than every frame.
        A grade maps each colour on its own, so the frames made from graded pixels are the
        graded frames, to within the resampling's rounding (a level or two at sharp edges); the
        colours the frame's painting adds (the mouth's interior) are graded with them."""
        for rgba in (self.subject, self.plate):
            rgba[..., :3] = grader(cv2.cvtColor(rgba, cv2.COLOR_RGBA2RGB))
        self._plate_still = False  # the frame buffer holds the plate ungraded
        self._half = None  # and a half-size plate, if made, ungraded
        self._mouth_colour = (*grader.colour(self._mouth_colour), 255.0)

    def follow_camera(self, cameras: list[np.ndarray | None]) -> None:
        """Render in the camera's view: vertex positions given to `lattices` and `compose` are
        then already moved by the frame's camera (`camera_points`), and `compose`'s backdrop is
        the plate's own move. The
        grids cover the subject's and the face's boxes as every camera of the video sees them,
        the face's grid as dense on the photo as without a camera. So the camera costs one warp
        of the plate a frame, and the subject is resampled from the photo once, not twice."""
        moved = [m for m in cameras if m is not None]
        if not moved:
            return
        w, h = self.size
        roi, face = self._still
        still = len(moved) < len(cameras)
        self.roi = _clip(_seen(roi, moved, still), w, h)
        seen_face = _clip(_seen(face, moved, still), w, h)
        x0, y0, x1, y1 = self.roi
        self.face_box = (
            max(x0, seen_face[0]), max(y0, seen_face[1]),
            min(x1, seen_face[2]), min(y1, seen_face[3]),
        )  # fmt: skip
        zoom = max(float(np.sqrt(abs(np.linalg.det(m[:, :2])))) for m in moved)
        self._layout(self.FINE_WIDTH * max(1.0, zoom))
        if zoom >= CUBIC_ZOOM:
            self._resample = cv2.INTER_CUBIC

    def keep_still(self, body_move: float) -> int:
        """Where no frame moves the subject, the plate is the photo itself; returns how many
        pixels are still. `body_move`: the most the body's motion (sway, rise, breath) moves
        a point of full body weight in the video, in pixels.

        The plate replaces the subject's area and a few pixels beyond with a fill, so that a
        moving edge leaves no ghost of its old place. But arms, things held, a neighbour's
        shoulder cut from the matte and the outline that breathing leaves in place lie outside
        the head's reach and move less than `STILL_MOVE` (every corner of their triangles:
        `Rig.head` 0, `Rig.body` times `body_move` at most that); there the fill only showed
        through the matte's soft or ragged edge and its holes (a seam down a helmet's clamp, a
        flag beside an arm smeared). With the photo behind them those parts are the photo. Only
        for a still camera and a sharp plate: a camera's parallax moves the subject over the
        plate, and a blurred plate would carry the subject's colours out past its edge."""
        # Only the subject's box: beyond it the plate is the photo already.
        rx0, ry0, rx1, ry1 = self.roi
        w, h = rx1 - rx0, ry1 - ry0
        rig = self.rig
        moving = (rig.head > 0) | (rig.body * body_move > STILL_MOVE)
        corners = np.round(rig.rest[:, :2][rig.triangles] - (rx0, ry0)).astype(np.int32)
        still = np.zeros((h, w), np.uint8)
        moved = np.zeros((h, w), np.uint8)
        for triangle, moves in zip(corners, moving[rig.triangles].any(axis=1), strict=True):
            cv2.fillConvexPoly(moved if moves else still, triangle, 1)
        # Clear of what moves by a grid's step and two pixels more: the remap tables are enlarged
        # from the grids' lattices, so a moving corner's pull reaches a step into still ones.
        step = 2 + max(math.ceil(g.w / g.gw) for g in (self.coarse, self.fine))
        moved = cv2.dilate(moved, np.ones((2 * step + 1, 2 * step + 1), np.uint8))
        still &= 1 - moved
        x, y, bw, bh = cv2.boundingRect(still)
        if bw == 0:
            return 0
        # The photo faded in over a pixel or two, in the still part's box (and 4 px beyond).
        x0, y0, x1, y1 = max(0, x - 4), max(0, y - 4), min(w, x + bw + 4), min(h, y + bh + 4)
        weight = cv2.GaussianBlur(still[y0:y1, x0:x1].astype(np.float32), (0, 0), 1.5)
        box = (slice(ry0 + y0, ry0 + y1), slice(rx0 + x0, rx0 + x1))
        plate = self.plate[box]
        plate[:] = cv2.blendLinear(self.subject[box], plate, weight, 1 - weight)
        plate[..., 3] = 255
        self._plate_still = False
        self._half = None
        return int(np.count_nonzero(still))

    def soft_plate(self) -> None:
        """The plate is out of focus (a shallow depth of field: `scene.defocus`, a blur of two
        pixels or more): a camera's move then warps it at half size and enlarges it (0.87
        against 1.20 ms a 720x720 frame), within a few grey levels of the plate warped whole
        (the half size's own slight blur on the plate's: at most 5, 0.3 on average, on the
        astronaut)."""
        self._soft = True

    def _layout(self, fine_width: float) -> None:
        """The grids and the per-frame buffers over `roi` and `face_box`."""
        self.coarse = Grid.over(self.roi, 0.2)
        fine = min(1.0, fine_width / max(1, self.face_box[2] - self.face_box[0]))
        self.fine = Grid.over(self.face_box, fine)
        self._lattice = {
            g: tuple(c.astype(np.float32) for c in g.points()) for g in (self.coarse, self.fine)
        }
        x0, y0, x1, y1 = self.roi
        self._moved = np.empty((y1 - y0, x1 - x0, 4), np.uint8)
        self._map_x = np.empty((y1 - y0, x1 - x0), np.float32)
        self._map_y = np.empty((y1 - y0, x1 - x0), np.float32)
        #: Whether the frame buffer holds the still plate outside the subject's box.
        self._plate_still = False

    def _face_box(self) -> tuple[int, int, int, int]:
        """The rectangle of the fine grid: the face, with room for the lids and lips to move."""
        geo = self.rig.geo
        lm = geo.landmarks
        fx0, fy0 = lm.min(0) - np.array([0.3, 0.5]) * geo.width
        fx1, fy1 = lm.max(0) + np.array([0.3, 0.35]) * geo.width
        rx0, ry0, rx1, ry1 = self.roi
        return (
            max(rx0, int(fx0)),
            max(ry0, int(fy0)),
            min(rx1, int(fx1) + 1),
            min(ry1, int(fy1) + 1),
        )

    def body_maps(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The remap tables of the whole subject box for vertex positions, on the coarse grid's
        lattice (`compose` enlarges them)."""
        return self._maps(self.coarse, positions, self._affines_of(positions))

    def lattices(
        self, positions: np.ndarray, body: tuple[np.ndarray, np.ndarray] | None = None
    ) -> Lattices:
        """A frame's geometry: its remap tables on the two lattices (the body's, the face's).

        `body` may give the body's, made in advance (see `PortraitEngine`: the body moves
        smoothly, so its tables can be made for every other frame and blended). This half of a
        frame may run in another thread than `compose`, a frame or two ahead of it."""
        if body is None:
            body = self.body_maps(positions)
        return body, self._maps(self.fine, positions, self._affines_of(positions))

    def compose(
        self,
        lattices: Lattices,
        positions: np.ndarray,
        mouth_open: float,
        backdrop: np.ndarray | None = None,
    ) -> np.ndarray:
        """A frame's pixels (RGBA) from its lattices: the subject moved, over the plate. With a
        camera (`follow_camera`), the positions are in the camera's view and `backdrop` is the
        2x3 affine that moves the plate behind the subject (None: the plate stays still)."""
        body, face = lattices
        map_x, map_y = self._map_x, self._map_y
        coarse, fine = self.coarse, self.fine
        # The lattices enlarged to full-size tables, in place: the whole box, then the face.
        for table, full in zip(body, (map_x, map_y), strict=True):
            cv2.resize(table, (coarse.w, coarse.h), dst=full, interpolation=cv2.INTER_LINEAR)
        x0, y0, x1, y1 = self.roi
        fx0, fy0 = self.face_box[0] - x0, self.face_box[1] - y0
        for table, full in zip(face, (map_x, map_y), strict=True):
            inside = full[fy0 : fy0 + fine.h, fx0 : fx0 + fine.w]
            cv2.resize(table, (fine.w, fine.h), dst=inside, interpolation=cv2.INTER_LINEAR)
        moved = cv2.remap(
            self.subject,
            map_x,
            map_y,
            self._resample,
            dst=self._moved,
            borderMode=cv2.BORDER_REPLICATE,
        )
        self._touch_up(moved)
        # One frame buffer, reused: with a still plate only the subject's box changes.
        frame = self._frame
        if backdrop is not None:
            self._move_plate(backdrop, frame)
            self._plate_still = False
        elif self._plate_still:
            np.copyto(frame[y0:y1, x0:x1], self.plate[y0:y1, x0:x1])
        else:
            np.copyto(frame, self.plate)
            self._plate_still = True
        _over(moved, frame, (x0, y0))
        if mouth_open > 0.02:
            _draw_mouth(frame, positions[INNER_MOUTH], mouth_open, self._mouth_colour)
        return frame

    def _move_plate(self, backdrop: np.ndarray, frame: np.ndarray) -> None:
        """The plate as the camera moves it (`backdrop`, a 2x3 affine) into the frame buffer; an
        out-of-focus plate (`soft_plate`) at half size, then enlarged."""
        if not self._soft:
            cv2.warpAffine(
                self.plate, backdrop, self.size, dst=frame, flags=self._resample,
                borderMode=cv2.BORDER_REFLECT_101,
            )  # fmt: skip
            return
        w, h = self.size
        if self._half is None:
            size = ((w + 1) // 2, (h + 1) // 2)
            small = cv2.resize(self.plate, size, interpolation=cv2.INTER_AREA)
            # Pixel centres, as cv2.resize places them.
            sx, sy = size[0] / w, size[1] / h
            to_half = np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]])
            self._half = (small, np.empty_like(small), to_half[:2], np.linalg.inv(to_half))
        small, moved, to_half, from_half = self._half
        # The move in the half-size plate's pixels.
        move = to_half @ np.vstack([backdrop, [0, 0, 1]]) @ from_half
        cv2.warpAffine(
            small, move, (small.shape[1], small.shape[0]), dst=moved,
            flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101,
        )  # fmt: skip
        cv2.resize(moved, (w, h), dst=frame, interpolation=cv2.INTER_LINEAR)

    def _touch_up(self, moved: np.ndarray) -> None:
        """Change the moved subject (RGBA, the subject's box) before it is laid over the plate:
        nothing here (`Renderer3D` mirrors a turned face's far side)."""

    def _affines_of(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`_affines`, kept for the last two position arrays: a frame's body tables are made a
        frame ahead of its face (`PortraitEngine`), from the same array."""
        for held, affines in self._recent:
            if held is positions:
                return affines
        affines = self._affines(positions)
        self._recent = [(positions, affines), *self._recent[:1]]
        return affines

    def _affines(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per triangle, the affine map from the frame back to the photo, as rows of 6, after a
        first row for the identity; and the order to draw the triangles in."""
        tri = self.rig.triangles
        dst = positions[tri]
        m = np.concatenate([dst, np.ones((len(tri), 3, 1))], axis=2)
        det = np.linalg.det(m)
        sound = np.abs(det) > 1e-3
        m[~sound] = np.eye(3)
        solved = np.linalg.solve(m, self.rig.rest[tri])  # (T, 3, 2): [x y 1] @ this = source
        rows = np.empty((len(tri) + 1, 6), np.float32)
        rows[0] = (1, 0, 0, 0, 1, 0)
        rows[1:, 0:3] = solved[:, :, 0]
        rows[1:, 3:6] = solved[:, :, 1]
        rows[1:][~sound] = (1, 0, 0, 0, 1, 0)
        # Rasterised triangles also claim pixels just past their edges, where the last one drawn
        # wins and extrapolates its map. Draw the most squeezed triangles (a closing eyelid)
        # first, so that their steep maps never reach past them into a neighbour's pixels.
        squeeze = self._rest_area / np.maximum(np.abs(det) / 2, 1e-6)
        order = np.argsort(-squeeze)
        return rows, order[sound[order]]

    def _maps(self, grid: Grid, positions: np.ndarray, affines: tuple) -> tuple:
        """The remap tables at `grid`'s lattice points (enlarged to full size by `compose`)."""
        rows, order = affines
        return self._lookup(grid, rows, self._index(grid, positions, order))

    def _index(self, grid: Grid, positions: np.ndarray, order: np.ndarray) -> np.ndarray:
        """Per lattice point of `grid`, 1 + the triangle drawn there last (0: none)."""
        index = np.zeros((grid.gh, grid.gw), np.int32)
        corners = np.round(grid.to_grid(positions) * 16).astype(np.int32)
        polygons = corners[self.rig.triangles]
        lo, hi = triangle_bounds(polygons)
        lo, hi = lo >> 4, hi >> 4
        visible = (hi[:, 0] >= 0) & (hi[:, 1] >= 0) & (lo[:, 0] < grid.gw) & (lo[:, 1] < grid.gh)
        drawn = order[visible[order]]
        fill = cv2.fillConvexPoly
        # Hundreds of triangles a grid: gathered once, then drawn from views (not indexed each).
        for polygon, colour in zip(polygons[drawn], (drawn + 1).tolist(), strict=True):
            fill(index, polygon, colour, cv2.LINE_8, 4)
        if grid is self.fine:
            _fill_holes(index)
        return index

    def _lookup(self, grid: Grid, rows: np.ndarray, index: np.ndarray) -> tuple:
        """The remap tables at `grid`'s lattice points, each from its triangle's row."""
        gx, gy = self._lattice[grid]
        # One gather of whole rows (C order: 24 bytes each), a third of the time of six.
        a = np.take(rows, index, axis=0)
        return (
            a[..., 0] * gx + a[..., 1] * gy + a[..., 2],
            a[..., 3] * gx + a[..., 4] * gy + a[..., 5],
        )


#: A hole in the face's lattice (points no triangle claims: where the turned mesh folds at the
#: silhouette, or a triangle collapsed to a line is left out) is filled from its neighbours'
#: triangles this many points deep.
HOLE_FILL = 2


def _fill_holes(index: np.ndarray) -> None:
    """Give the face's lattice points that no triangle claimed (0 in `index`, in place) a
    neighbour's triangle, whose map, extrapolated a point or two, stays near the truth; the
    identity map they had takes the photo's pixel at the point's place in the frame, which a
    turned head or a camera has moved (a dark speck of eye or hair on a cheek)."""
    h, w = index.shape
    for _ in range(HOLE_FILL):
        if cv2.countNonZero(index) in (0, index.size):  # none claimed, or no hole (most frames)
            return
        ys, xs = np.nonzero(index == 0)
        best = np.zeros(len(ys), index.dtype)
        for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1)):
            best = np.maximum(best, index[np.clip(ys + dy, 0, h - 1), np.clip(xs + dx, 0, w - 1)])
        index[ys, xs] = best


def triangle_bounds(corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per triangle (corners (T, 3, 2)), the least and the greatest x and y of its corners,
    (T, 2) each: elementwise over the three corners (NumPy's `min` over so short an axis is
    several times slower)."""
    a, b, c = corners[:, 0], corners[:, 1], corners[:, 2]
    return np.minimum(np.minimum(a, b), c), np.maximum(np.maximum(a, b), c)


def triangle_areas(corners: np.ndarray) -> np.ndarray:
    """Signed areas of triangles (..., 3, 2): positive where the corners run one way round,
    negative where a turn has folded the triangle over."""
    e1, e2 = corners[..., 1, :] - corners[..., 0, :], corners[..., 2, :] - corners[..., 0, :]
    return (e1[..., 0] * e2[..., 1] - e1[..., 1] * e2[..., 0]) / 2


def _over(subject: np.ndarray, frame: np.ndarray, at: tuple[int, int]) -> None:
    """Lay the RGBA subject over `frame` at (x, y), in place: copy where opaque, blend the edge."""
    x0, y0 = at
    h, w = subject.shape[:2]
    alpha = cv2.extractChannel(subject, 3)  # once, contiguous (OpenCV copies a strided view)
    # Within 1/50 of opaque or clear is as good as either: the edge band stays a few px wide.
    cv2.copyTo(subject, cv2.compare(alpha, 250, cv2.CMP_GT), frame[y0 : y0 + h, x0 : x0 + w])
    edge = cv2.findNonZero(cv2.inRange(alpha, 5, 250))
    if edge is None:
        return
    edge = edge.reshape(-1, 2)
    inside = edge[:, 1] * w + edge[:, 0]
    outside = (edge[:, 1] + y0) * frame.shape[1] + edge[:, 0] + x0
    pixels, canvas = subject.reshape(-1, 4), frame.reshape(-1, 4)
    fg = np.take(pixels, inside, axis=0).astype(np.uint16)
    bg = np.take(canvas, outside, axis=0).astype(np.uint16)
    a = fg[:, 3:4]
    mixed = fg * a
    mixed += bg * (255 - a)
    mixed += 128
    # (x + 127) // 255 for x <= 65025, without integer division: (y + (y >> 8)) >> 8, y = x + 128.
    mixed += mixed >> 8
    canvas[outside] = (mixed >> 8).astype(np.uint8)


def camera_points(camera: np.ndarray | None, points: np.ndarray) -> np.ndarray:
    """2D points (N, 2) as the camera (a 2x3 affine, or None for none) sees them."""
    if camera is None:
        return points
    return points @ camera[:, :2].T + camera[:, 2]


def _seen(
    box: tuple[int, int, int, int], cameras: list[np.ndarray], still: bool
) -> tuple[float, float, float, float]:
    """The box that holds `box` as each camera sees it (and as it is, if `still`)."""
    x0, y0, x1, y1 = box
    corners = np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]], np.float64)
    seen = [camera_points(m, corners) for m in cameras] + ([corners] if still else [])
    every = np.concatenate(seen)
    lo, hi = every.min(0), every.max(0)
    return (float(np.floor(lo[0])), float(np.floor(lo[1])), float(np.ceil(hi[0])) + 1,
            float(np.ceil(hi[1])) + 1)  # fmt: skip


def _clip(box: tuple[float, ...], w: int, h: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = (int(v) for v in box)
    return max(0, x0), max(0, y0), min(w, x1), min(h, y1)


def _draw_mouth(
    frame: np.ndarray, lips: np.ndarray, opening: float, colour: tuple[float, ...] = MOUTH_COLOUR
) -> None:
    """Shade the inside of the parted lips: dark towards the throat, the stretched teeth and lip
    texture still showing through near the upper lip, soft at the edge."""
    x0, y0 = np.floor(lips.min(0)).astype(int) - 3
    x1, y1 = np.ceil(lips.max(0)).astype(int) + 4
    h, w = frame.shape[:2]
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < 3 or y1 - y0 < 3:
        return
    local = (lips - [x0, y0]) * 16
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(mask, [np.round(local).astype(np.int32)], 255, cv2.LINE_AA, 4)
    gap = max(1.0, float(np.mean(lips[[7, 6, 5], 1] - lips[[1, 2, 3], 1])))
    top = float(np.mean(lips[[1, 2, 3], 1])) - y0
    depth = np.clip((np.arange(y1 - y0, dtype=np.float32) - top) / (0.6 * gap), 0.25, 1.0)
    soft = cv2.GaussianBlur(mask, (0, 0), max(0.6, 0.12 * gap)).astype(np.float32) / 255
    weight = (soft * depth[:, None] * min(0.9, 2.5 * opening)).astype(np.float32)
    patch = frame[y0:y1, x0:x1]
    inside = np.empty_like(patch)
    inside[:] = colour
    inside = cv2.addWeighted(inside, 0.8, patch, 0.2, 0)
    frame[y0:y1, x0:x1] = cv2.blendLinear(inside, patch, weight, 1 - weight)


def camera_matrix(
    size: tuple[int, int], target: tuple[float, float], zoom: float, pan: float, lift: float = 0.0
) -> np.ndarray | None:
    """The 2x3 affine of a camera zoomed by `zoom` towards `target`, panned by `pan` widths and
    lifted by `lift` heights (negative: the view moves up)."""
    if abs(zoom - 1) < 1e-4 and abs(pan) < 1e-6 and abs(lift) < 1e-6:
        return None
    w, h = size
    half_w, half_h = w / zoom / 2, h / zoom / 2
    cx = target[0] + pan * w
    cx = min(max(cx, half_w), w - half_w)
    cy = min(max(target[1] + lift * h, half_h), h - half_h)
    return np.array([[zoom, 0, w / 2 - zoom * cx], [0, zoom, h / 2 - zoom * cy]], np.float64)
