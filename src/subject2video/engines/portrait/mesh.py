"""The landmark mesh: vertices on the face, forehead, matte outline and frame border, and how
each moves for a given set of channel values (expression, head rotation, body motion).

Each vertex has a depth (for head turns: the nose travels further than the cheeks, the outline
of the head barely moves), a head weight (1 on the head, fading down the neck to 0 on the
shoulders) and a body weight (1 from the shoulders up, fading to 0 at the bottom of the frame,
where the body is cut off and must stay put). Frame-border vertices never move.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from subject2video.engines.portrait.matte import FaceGeometry

#: Landmark pairs (upper lid, lower lid) of the screen-left eye (36-41) and screen-right (42-47).
LIDS = {"l": ((37, 41), (38, 40)), "r": ((43, 47), (44, 46))}
INNER_MOUTH = list(range(60, 68))
#: How far the chin follows an opening mouth, by jaw landmark.
_JAW = {5: 0.3, 6: 0.6, 7: 0.85, 8: 1.0, 9: 0.85, 10: 0.6, 11: 0.3}


def body_shift(geo: FaceGeometry, v: Mapping[str, Any]) -> tuple[Any, Any]:
    """How far the body's motion (sway, rise, breath) moves a point of full body weight, (x, y)
    in pixels: for one frame's channel values, or for a plan's whole curves (arrays)."""
    return v["sway"] * geo.width, -(v["rise"] + 0.012 * v["breath"]) * geo.height


@dataclass
class Rig:
    """The mesh at rest: vertex positions, their attributes, the triangles."""

    geo: FaceGeometry
    rest: np.ndarray  # (N, 2) float64, first 68 are the landmarks
    depth: np.ndarray  # (N,) px, towards the viewer
    head: np.ndarray  # (N,) head weight
    body: np.ndarray  # (N,) body weight
    forehead: np.ndarray  # (N,) bool: moves with the brows a little
    triangles: np.ndarray  # (T, 3) int32
    size: tuple[int, int]

    @classmethod
    def build(cls, geo: FaceGeometry, alpha: np.ndarray) -> Rig:
        """Place the vertices for a face and its matte, and triangulate them."""
        h, w = alpha.shape
        lm = geo.landmarks
        cx, cy = geo.center
        fw, fh = geo.width, geo.height
        hx, hy, hrx, hry = geo.head
        points: list[np.ndarray] = [lm]
        kinds: list[np.ndarray] = [np.zeros(68, int)]
        # Forehead: the brows lifted, and an arc over the top of the head.
        brows = lm[[17, 19, 21, 22, 24, 26]].copy()
        brows[:, 1] -= 0.45 * fh
        angles = np.radians(np.linspace(200, 340, 7))
        arc = np.stack([hx + hrx * 0.92 * np.cos(angles), hy + hry * 0.95 * np.sin(angles)], 1)
        points += [brows, arc]
        kinds += [np.ones(len(brows), int), np.full(len(arc), 2)]
        outline = _outline(alpha, step=max(8.0, fw / 5))
        # Where the matte's edge runs along the face, the landmarks carry it: an outline vertex
        # right beside a jaw landmark, weighted differently, would fold the skin between them.
        face_points = np.concatenate(points)
        near = np.linalg.norm(outline[:, None] - face_points[None], axis=2).min(axis=1)
        outline = outline[near > 0.15 * fw]
        if len(outline):
            normals = _normals(outline)
            ring = outline + normals * (0.18 * fw + 4)
            inside = (
                (ring[:, 0] > 2) & (ring[:, 0] < w - 3) & (ring[:, 1] > 2) & (ring[:, 1] < h - 3)
            )
            points += [outline, ring[inside]]
            kinds += [np.full(len(outline), 3), np.full(int(inside.sum()), 3)]
        # The base of the neck and the chest: they anchor the body while the head turns.
        base_y = geo.chin_y + 0.4 * fh
        xs = cx + fw * np.array([-1.4, -0.9, -0.45, 0.0, 0.45, 0.9, 1.4])
        neck = np.stack([xs, np.full_like(xs, base_y)], 1)
        neck = neck[(neck[:, 0] > 2) & (neck[:, 0] < w - 3) & (base_y < h - 3)]
        points.append(neck)
        kinds.append(np.full(len(neck), 5))
        border = _border(w, h, n=8)
        points.append(border)
        kinds.append(np.full(len(border), 4))
        rest = np.concatenate(points).astype(np.float64)
        kind = np.concatenate(kinds)
        rest[:, 0] = np.clip(rest[:, 0], 0, w - 1)
        rest[:, 1] = np.clip(rest[:, 1], 0, h - 1)
        rest, kind = _dedupe(rest, kind)
        # Depth: an ellipsoid over the face, the nose standing out; the outline has none.
        u = (rest[:, 0] - cx) / (0.56 * fw)
        v = (rest[:, 1] - cy) / (0.95 * fh)
        depth = 0.5 * fw * np.sqrt(np.clip(1 - u**2 - 0.35 * v**2, 0.02, 1))
        depth[27:36] += 0.1 * fw * np.array([0.2, 0.5, 0.8, 1.0, 0.5, 0.6, 0.7, 0.6, 0.5])
        depth[48:68] += 0.04 * fw
        depth[kind == 2] = 0.12 * fw
        depth[kind >= 3] = 0.0
        kind[kind == 5] = 3
        # Head weight: the head ellipse (grown a little) and above the chin; fading down the neck.
        dx = (rest[:, 0] - hx) / (hrx * 1.25)
        dy = (rest[:, 1] - hy) / (hry * 1.2)
        in_head = np.clip((1.15 - np.hypot(dx, dy)) / 0.3, 0, 1)
        below = np.clip(1 - (rest[:, 1] - geo.chin_y + 0.05 * fh) / (0.3 * fh), 0, 1)
        beside = np.abs(rest[:, 0] - hx) > 1.1 * hrx
        head = np.where(kind <= 2, 1.0, in_head * below * ~(beside & (rest[:, 1] > lm[2, 1])))
        head[kind >= 4] = 0.0
        # Body weight: everything on the subject from the shoulders up; pinned at the bottom.
        shoulders = geo.chin_y + 0.5 * fh
        span = max(0.6 * fh, (h - 1) - shoulders)
        body = np.clip(((h - 1) - rest[:, 1]) / span, 0, 1)
        body[kind == 4] = 0.0
        triangles = _triangulate(rest, w, h)
        return cls(geo, rest, depth, head, body, kind == 1, triangles, (w, h))

    def positions(self, v: dict[str, float]) -> np.ndarray:
        """Vertex positions for channel values `v` (a MotionPlan frame)."""
        p = self.rest.copy()
        _expression(p, self.geo, v)
        p[self.forehead, 1] -= 0.06 * self.geo.height * v["brows"]
        p = self._rotate(p, v)
        shift_x, shift_y = body_shift(self.geo, v)
        p[:, 0] += self.body * shift_x
        p[:, 1] += self.body * shift_y
        return p

    def _rotate(self, p: np.ndarray, v: dict[str, float]) -> np.ndarray:
        """Turn the head (yaw, pitch about the head's centre; roll about the neck)."""
        yaw, pitch, roll = (math.radians(v[k]) for k in ("yaw", "pitch", "roll"))
        hx, hy = self.geo.head[:2]
        x, y, z = p[:, 0] - hx, p[:, 1] - hy, self.depth
        cy_, sy_ = math.cos(yaw), math.sin(yaw)
        x1, z1 = x * cy_ + z * sy_, -x * sy_ + z * cy_
        cp, sp = math.cos(pitch), math.sin(pitch)
        y1 = y * cp - z1 * sp
        px, py = hx, self.geo.chin_y + 0.25 * self.geo.height
        rx, ry = x1 + hx - px, y1 + hy - py
        cr, sr = math.cos(roll), math.sin(roll)
        x2, y2 = rx * cr - ry * sr + px, rx * sr + ry * cr + py
        moved = np.stack([x2, y2], 1)
        return p + self.head[:, None] * (moved - p)


def _expression(p: np.ndarray, geo: FaceGeometry, v: dict[str, float]) -> None:
    """Move the landmarks for blinks, wide eyes, brows, smile or frown and an open mouth."""
    lm = geo.landmarks
    io = float(np.linalg.norm(lm[42:48].mean(0) - lm[36:42].mean(0)))
    mw = float(np.linalg.norm(lm[54] - lm[48]))
    mouth_c = lm[48:68].mean(0)
    for eye, pairs in LIDS.items():
        c, wide = v[f"blink_{eye}"], v["wide"]
        for up, low in pairs:
            gap = lm[low] - lm[up]
            p[up] += gap * (0.93 * c - 0.22 * wide * (1 - c))
            p[low] -= gap * (0.05 * c + 0.12 * max(v["smile"], 0))
    brow = 0.14 * io * v["brows"] + 0.05 * io * v["wide"]
    p[17:27, 1] -= brow
    blink = (v["blink_l"], v["blink_r"])
    p[17:22, 1] += 0.06 * io * blink[0]
    p[22:27, 1] += 0.06 * io * blink[1]
    m = v["smile"]
    out = np.sign(lm[48:68, 0] - mouth_c[0])
    if m >= 0:
        lift = {
            48: (0.1, 0.08),
            54: (0.1, 0.08),
            60: (0.08, 0.06),
            64: (0.08, 0.06),
            49: (0.05, 0.035),
            53: (0.05, 0.035),
            59: (0.06, 0.03),
            55: (0.06, 0.03),
            61: (0.03, 0.02),
            63: (0.03, 0.02),
            67: (0.03, 0.015),
            65: (0.03, 0.015),
            50: (0.015, 0.015),
            52: (0.015, 0.015),
            58: (0.02, 0.0),
            56: (0.02, 0.0),
        }
        for i, (dx, dy) in lift.items():
            p[i, 0] += out[i - 48] * dx * mw * m
            p[i, 1] -= dy * mw * m
        p[[31, 35], 0] += np.array([-1, 1]) * 0.02 * mw * m
    else:
        for i in (48, 54, 60, 64):
            p[i, 0] -= out[i - 48] * 0.03 * mw * -m
            p[i, 1] += 0.07 * mw * -m
        p[[20, 21, 22, 23], 1] += 0.06 * io * -m
        p[[21, 22], 0] += np.array([1, -1]) * 0.04 * io * -m
    o = v["mouth"]
    if o > 0:
        for i, k in (
            (56, 1.0),
            (57, 1.0),
            (58, 1.0),
            (65, 1.0),
            (66, 1.0),
            (67, 1.0),
            (55, 0.6),
            (59, 0.6),
        ):
            p[i, 1] += 0.34 * mw * o * k
        for i in (48, 54, 60, 64):
            p[i, 1] += 0.12 * mw * o
            p[i, 0] -= out[i - 48] * 0.04 * mw * o
        p[[61, 62, 63], 1] -= 0.03 * mw * o
        for i, k in _JAW.items():
            p[i, 1] += 0.3 * mw * o * k


def _outline(alpha: np.ndarray, step: float) -> np.ndarray:
    """Points every `step` px along the matte's outer edge, leaving out the frame's edges."""
    binary = (alpha > 0.5).astype(np.uint8)
    contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return np.zeros((0, 2))
    contour = max(contours, key=cv2.contourArea)[:, 0, :].astype(np.float64)
    seg = np.linalg.norm(np.diff(contour, axis=0, append=contour[:1]), axis=1)
    dist = np.concatenate([[0], np.cumsum(seg)[:-1]])
    picks = np.searchsorted(dist, np.arange(0, dist[-1], step))
    pts = contour[np.clip(picks, 0, len(contour) - 1)]
    h, w = alpha.shape
    keep = (pts[:, 0] > 3) & (pts[:, 0] < w - 4) & (pts[:, 1] > 3) & (pts[:, 1] < h - 4)
    return pts[keep]


def _normals(points: np.ndarray) -> np.ndarray:
    """Outward unit normals of a closed polyline given counter-clockwise in image axes."""
    tangent = np.roll(points, -1, axis=0) - np.roll(points, 1, axis=0)
    normal = np.stack([tangent[:, 1], -tangent[:, 0]], 1)
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-6)
    centre = points.mean(0)
    flip = np.sum((points - centre) * normal, axis=1) < 0
    normal[flip] *= -1  # a star-shaped outline: point away from its centre
    return normal


def _border(w: int, h: int, n: int) -> np.ndarray:
    xs, ys = np.linspace(0, w - 1, n + 1), np.linspace(0, h - 1, n + 1)
    top = np.stack([xs, np.zeros_like(xs)], 1)
    bottom = np.stack([xs, np.full_like(xs, h - 1)], 1)
    left = np.stack([np.zeros(n - 1), ys[1:-1]], 1)
    right = np.stack([np.full(n - 1, w - 1), ys[1:-1]], 1)
    return np.concatenate([top, bottom, left, right])


def _dedupe(points: np.ndarray, kind: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop later points within half a pixel of an earlier one (landmarks always stay)."""
    seen: set[tuple[int, int]] = set()
    keep = []
    for i, (x, y) in enumerate(points):
        key = (round(x * 2), round(y * 2))
        if key in seen and i >= 68:
            continue
        seen.add(key)
        keep.append(i)
    return points[keep], kind[keep]


def _triangulate(points: np.ndarray, w: int, h: int) -> np.ndarray:
    """Delaunay triangles of `points` as vertex indices."""
    subdiv = cv2.Subdiv2D((-1, -1, w + 2, h + 2))
    # A tiny per-point offset keeps coincident landmarks apart (Subdiv2D would merge them).
    jittered = points + 1e-2 * (np.arange(len(points)) % 7)[:, None]
    stored = np.ascontiguousarray(jittered, np.float32)
    subdiv.insert(stored)
    # The corners come back as the points were stored (float32), so each is found by its bits:
    # the first point stored there, as Subdiv2D keeps the first of two at one place. Triangles
    # that use Subdiv2D's virtual outer vertices match no point.
    keys = stored.view(np.uint64).ravel()
    order = np.argsort(keys, kind="stable")
    known = keys[order]
    corners = np.ascontiguousarray(subdiv.getTriangleList(), np.float32)
    wanted = corners.view(np.uint64).reshape(-1, 3)
    at = np.minimum(np.searchsorted(known, wanted), len(known) - 1)
    ok = (known[at] == wanted).all(axis=1)
    return order[at[ok]].astype(np.int32)
