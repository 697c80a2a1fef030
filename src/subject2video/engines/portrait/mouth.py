"""The inside of an open mouth, painted in the photo's own tones.

Colours come from the photo: the interior is the lips' colour, darkened and warmed; teeth take the
colour of the photo's own teeth where they show, else of the whites of the eyes, a little
darker; the tongue is the lip colour. As the lips part, the opening shows the upper teeth under
the upper lip, then the tongue and the lower teeth above the lower lip. Teeth the photo already
shows are not painted over: they move with the upper jaw (`Rig3D`), and only the newly opened
part below them is painted.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from subject2video.engines.portrait import topology as T

SHIFT = 4  # fixed-point bits for anti-aliased polygons


def _polygon_mask(shape: tuple[int, int], poly: np.ndarray, origin: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    pts = np.round((poly - origin) * (1 << SHIFT)).astype(np.int32)
    cv2.fillPoly(mask, [pts], 255, cv2.LINE_AA, SHIFT)
    return mask


def _median_colour(image: np.ndarray, poly: np.ndarray, top: float = 1.0) -> np.ndarray | None:
    """The median colour inside `poly`, of its brightest `top` share of pixels."""
    x0, y0 = np.floor(poly.min(0)).astype(int)
    x1, y1 = np.ceil(poly.max(0)).astype(int) + 1
    h, w = image.shape[:2]
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    mask = _polygon_mask((y1 - y0, x1 - x0), poly, np.array([x0, y0])) > 127
    pixels = image[y0:y1, x0:x1][mask].astype(np.float32)
    if len(pixels) < 4:
        return None
    if top < 1.0:
        light = pixels.sum(1)
        pixels = pixels[light >= np.quantile(light, 1 - top)]
    return np.median(pixels, axis=0)


@dataclass
class MouthPainter:
    """The palette of one photo's mouth, and the painter of its opened interior."""

    dark: np.ndarray
    teeth: np.ndarray
    tongue: np.ndarray
    #: Whether the photo shows its own interior (teeth) between the lips.
    own: bool
    mouth_width: float

    @classmethod
    def of(cls, image: np.ndarray, mesh: np.ndarray) -> MouthPainter:
        """Read the palette from the photo and its mesh (468, 3)."""
        pts = mesh[:, :2]
        lower = pts[list(T.LIP_OUTER_LOWER) + list(T.LIP_INNER_LOWER[::-1])]
        lip = _median_colour(image, lower)
        lip = np.array([150.0, 80, 80]) if lip is None else lip
        inner = pts[list(T.LIP_INNER_UPPER) + list(T.LIP_INNER_LOWER[::-1])]
        mw = float(np.linalg.norm(pts[291] - pts[61]))
        area = abs(cv2.contourArea(inner.astype(np.float32)))
        own_teeth = _median_colour(image, inner, top=0.4) if area > 0.01 * mw * mw else None
        own = own_teeth is not None and float(own_teeth.mean()) > 110
        if own:
            teeth = own_teeth
        else:
            whites = [
                _median_colour(image, pts[list(u) + list(lo[::-1])], top=0.25)
                for u, lo, _, _ in T.EYES.values()
            ]
            found = [c for c in whites if c is not None]
            white = np.mean(found, axis=0) if found else np.array([215.0, 205, 190])
            # Eye whites behind glasses or in shade read dim and tinted: keep their brightness,
            # half their tint, and lean to ivory.
            light = float(np.clip(1.1 * white.mean(), 170, 230))
            teeth = 0.5 * white + 0.5 * light * np.array([1.0, 0.96, 0.86])
        # Teeth are never bluer than they are red: a cast from the eye whites' lighting.
        teeth = np.clip(teeth, 0, 255)
        teeth[2] = min(teeth[2], teeth[0])
        dark = np.clip(lip * np.array([0.32, 0.2, 0.2]), 8, 90)
        tongue = np.clip(lip * np.array([0.85, 0.6, 0.62]), 20, 220)
        return cls(dark, teeth, tongue, own, mw)

    def paint(self, frame: np.ndarray, inner: np.ndarray, own: np.ndarray | None) -> None:
        """Paint the opening bounded by `inner` (upper lip contour then lower, reversed) into the
        RGB(A) `frame`, in place, except inside `own` (the photo's interior, moved)."""
        h, w = frame.shape[:2]
        x0, y0 = np.floor(inner.min(0)).astype(int) - 2
        x1, y1 = np.ceil(inner.max(0)).astype(int) + 3
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if x1 - x0 < 3 or y1 - y0 < 3:
            return
        origin = np.array([x0, y0], np.float64)
        shape = (y1 - y0, x1 - x0)
        mask = _polygon_mask(shape, inner, origin).astype(np.float32) / 255
        if own is not None and self.own:
            mask *= 1 - _polygon_mask(shape, own, origin).astype(np.float32) / 255
        if mask.max() < 0.05:
            return
        n = len(T.LIP_INNER_UPPER)
        upper = inner[:n] - origin
        patch = self._interior(shape, upper, inner[n:][::-1] - origin)
        # Soft at the edge, and darker into the corners' shadow, which a polygon would otherwise
        # draw as sharp bright points.
        mask = cv2.GaussianBlur(mask, (0, 0), 0.7)
        centre_x = float(upper[0, 0] + upper[-1, 0]) / 2
        half = max(1.0, float(abs(upper[-1, 0] - upper[0, 0])) / 2)
        across = np.abs(np.arange(shape[1], dtype=np.float32) - centre_x) / half
        patch *= np.clip((1.0 - across) / 0.2, 0.5, 1.0)[None, :, None]
        region = frame[y0:y1, x0:x1, :3].astype(np.float32)
        weight = mask[..., None]
        frame[y0:y1, x0:x1, :3] = np.clip(patch * weight + region * (1 - weight) + 0.5, 0, 255)

    def _interior(self, shape: tuple[int, int], upper: np.ndarray, lower: np.ndarray) -> np.ndarray:
        """The painted interior: shadowed cavity, upper teeth, tongue, lower teeth."""
        hh, ww = shape
        xs = np.arange(ww, dtype=np.float32)
        top = np.interp(xs, *_sorted(upper))
        bottom = np.interp(xs, *_sorted(lower))
        gap = np.maximum(bottom - top, 0.0)
        ys = np.arange(hh, dtype=np.float32)[:, None]
        depth = np.clip((ys - top) / np.maximum(gap, 1.0), 0, 1)
        centre_x = float((upper[0, 0] + upper[-1, 0]) / 2)
        half = max(1.0, float(abs(upper[-1, 0] - upper[0, 0])) / 2)
        across = np.clip(np.abs(xs - centre_x) / half, 0, 1)
        # The cavity: darkest in the middle of the opening and towards the corners.
        shade = (0.75 + 0.5 * np.abs(depth - 0.5)) * (1 - 0.35 * across**2)
        patch = self.dark[None, None] * shade[..., None]
        mw, max_gap = self.mouth_width, float(gap.max())
        central = across < 0.72
        if not self.own:
            band = np.minimum(0.4 * gap, 0.11 * mw)
            _teeth(patch, ys, top, top + band, central, self.teeth, xs, mw)
        if max_gap > 0.12 * mw:
            strength = min(1.0, (max_gap - 0.12 * mw) / (0.15 * mw))
            cx, cy = centre_x, float(np.max(bottom)) - 0.2 * max_gap
            tongue = np.zeros((hh, ww), np.float32)
            axes = (max(1, round(0.32 * mw)), max(1, round(0.32 * max_gap)))
            cv2.ellipse(tongue, (round(cx), round(cy)), axes, 0, 0, 360, 1.0, -1)
            tongue = cv2.GaussianBlur(tongue, (0, 0), max(1.0, 0.05 * mw)) * strength
            lit = (0.7 + 0.3 * (1 - depth))[..., None]
            patch = patch * (1 - tongue[..., None]) + (self.tongue * lit) * tongue[..., None]
            band = np.minimum(0.14 * gap, 0.045 * mw) * strength
            _teeth(patch, ys, bottom - band, bottom, across < 0.45, self.teeth * 0.75, xs, mw)
        return patch


def _sorted(contour: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(contour[:, 0])
    return contour[order, 0], contour[order, 1]


def _teeth(
    patch: np.ndarray, ys: np.ndarray, start: np.ndarray, end: np.ndarray, columns: np.ndarray,
    colour: np.ndarray, xs: np.ndarray, mw: float,
) -> None:  # fmt: skip
    """Paint a row of teeth between rows `start` and `end` (per column), in place."""
    inside = (ys >= start) & (ys < end) & columns
    if not inside.any():
        return
    # Narrow gaps between teeth, a tooth about an eighth of the mouth wide.
    centre = float(xs[columns].mean()) if columns.any() else 0.0
    phase = np.cos(2 * np.pi * (xs - centre) / max(2.0, mw / 8))
    gaps = np.clip((phase - 0.9) / 0.1, 0, 1)
    length = np.clip((ys - start) / np.maximum(end - start, 1.0), 0, 1)
    tone = (1.0 - 0.18 * gaps) * (1.0 - 0.3 * length**2)
    teeth = colour[None, None] * tone[..., None]
    soft = inside.astype(np.float32)[..., None]
    patch[:] = patch * (1 - soft) + teeth * soft
