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
        if not own and float(teeth.mean()) < 175:
            # Painted teeth read grey against lit lips when the eye whites are dim (glasses,
            # shade): lift them to a light ivory, keeping their tint.
            teeth = np.clip(teeth * (175 / max(float(teeth.mean()), 1.0)), 0, 245)
        dark = np.clip(lip * np.array([0.32, 0.2, 0.2]), 8, 90)
        tongue = np.clip(lip * np.array([0.85, 0.6, 0.62]), 20, 220)
        return cls(dark, teeth, tongue, own, mw)

    def paint(
        self,
        frame: np.ndarray,
        inner: np.ndarray,
        own: np.ndarray | None,
        *,
        tongue: float = 0.0,
        retract: float = 0.0,
    ) -> None:
        """Paint the opening bounded by `inner` (upper lip contour then lower, reversed) into the
        RGB(A) `frame`, in place, except inside `own` (the photo's interior, moved). `tongue`
        (0-1) raises the tongue's tip towards the upper teeth (l, th); `retract` (0-1: a smile
        or spread lips) pulls the upper lip back off the gum."""
        h, w = frame.shape[:2]
        x0, y0 = np.floor(inner.min(0)).astype(int) - 2
        x1, y1 = np.ceil(inner.max(0)).astype(int) + 3
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if x1 - x0 < 3 or y1 - y0 < 3:
            return
        origin = np.array([x0, y0], np.float64)
        shape = (y1 - y0, x1 - x0)
        n = len(T.LIP_INNER_UPPER)
        # The lips' 11-point contours drawn as curves, not polygons: a wide-open mouth
        # otherwise reads as a hexagon.
        top_curve, bottom_curve = _curve(inner[:n]), _curve(inner[n:])
        curved = np.concatenate([top_curve, bottom_curve[1:-1]])
        mask = _polygon_mask(shape, curved, origin).astype(np.float32) / 255
        if own is not None and self.own:
            mask *= 1 - _polygon_mask(shape, own, origin).astype(np.float32) / 255
        if mask.max() < 0.05:
            return
        upper = top_curve - origin
        patch = self._interior(shape, upper, bottom_curve[::-1] - origin, tongue, retract)
        # Soft at the edge; the corners are rounded off in shadow rather than drawn as points.
        # Not dilated: a mouth one pixel wider eats into the lips and changes the face's
        # identity (dlib's descriptor: 0.37 against 0.33 on the astronaut's laugh).
        mask = cv2.GaussianBlur(mask, (0, 0), 0.8)
        region = frame[y0:y1, x0:x1, :3].astype(np.float32)
        weight = mask[..., None]
        frame[y0:y1, x0:x1, :3] = np.clip(patch * weight + region * (1 - weight) + 0.5, 0, 255)

    def _interior(
        self,
        shape: tuple[int, int],
        upper: np.ndarray,
        lower: np.ndarray,
        tongue: float = 0.0,
        retract: float = 0.0,
    ) -> np.ndarray:
        """The painted interior: the cavity, upper teeth (with gum when the lip pulls back),
        the tongue, lower teeth, and the wet inner lips over their edges."""
        hh, ww = shape
        xs = np.arange(ww, dtype=np.float32)
        top = np.interp(xs, *_sorted(upper))
        bottom = np.interp(xs, *_sorted(lower))
        gap = np.maximum(bottom - top, 0.0)
        ys = np.arange(hh, dtype=np.float32)[:, None]
        depth = np.clip((ys - top) / np.maximum(gap, 1.0), 0, 1)
        centre_x = float((upper[0, 0] + upper[-1, 0]) / 2)
        half = max(1.0, float(abs(upper[-1, 0] - upper[0, 0])) / 2)
        u = np.clip((xs - centre_x) / half, -1, 1)
        across = np.abs(u)
        mw, max_gap = self.mouth_width, float(gap.max())
        # The cavity: darkest under the upper teeth and deep in the corners, warmer low down.
        shade = (0.7 + 0.45 * depth**1.5) * (1 - 0.4 * across**2)
        warm = np.array([1.0, 0.8, 0.8], np.float32)
        patch = (self.dark * warm)[None, None] * shade[..., None]
        if max_gap > 0.1 * mw:
            strength = min(1.0, (max_gap - 0.1 * mw) / (0.15 * mw) + 0.6 * tongue)
            patch = self._tongue(patch, xs, ys, top, bottom, centre_x, half, strength, tongue)
        if not self.own:
            gum = np.clip(retract - 0.3, 0, 1) * min(0.35 * max_gap, 0.035 * mw)
            if gum > 0.3:
                inside = (ys >= top) & (ys < top + gum) & (across < 0.85)
                gum_colour = np.clip(self.tongue * np.array([1.1, 0.85, 0.85]), 0, 255)
                patch[inside] = (gum_colour * 0.9)[None]
            length = np.minimum(0.42 * gap, 0.12 * mw)
            _arch_teeth(patch, ys, top + gum, length, u, self.teeth, mw, upper=True)
        if max_gap > 0.16 * mw:
            strength = min(1.0, (max_gap - 0.16 * mw) / (0.12 * mw))
            # The lower teeth: a short row in the middle, in the upper teeth's shadow; under
            # three pixels they read as a pale seam along the lip, so they stay hidden.
            length = np.minimum(0.14 * gap, 0.06 * mw) * strength * (across < 0.55)
            if float(length.max()) >= 3.0:
                lower = self.teeth * 0.68
                _arch_teeth(patch, ys, bottom - length, length, u, lower, mw, upper=False)
        self._inner_lips(patch, ys, top, bottom, across, mw)
        return patch

    def _tongue(
        self, patch: np.ndarray, xs: np.ndarray, ys: np.ndarray, top: np.ndarray,
        bottom: np.ndarray, cx: float, half: float, strength: float, tip: float,
    ) -> np.ndarray:  # fmt: skip
        """A rounded tongue resting on the floor of the mouth, lit from the front, with a
        central groove; `tip` raises its front towards the upper teeth (l, th)."""
        gap = np.maximum(bottom - top, 1.0)
        rise = 0.25 + 0.45 * tip  # how far up the opening the tongue's top reaches
        surface = bottom - gap * rise * (1 - 0.6 * ((xs - cx) / (0.8 * half)) ** 2)
        inside = np.clip((ys - surface) / 3.0, 0, 1)
        width = np.clip(1 - np.abs(xs - cx) / (0.85 * half), 0, 1) ** 0.5
        cover = inside * width[None, :] * strength
        below = np.clip((ys - surface) / np.maximum(gap * rise, 1.0), 0, 1)
        # Lit on its top, darker down into the mouth, its far edge in the cavity's shadow.
        light = (0.7 + 0.25 * np.sin(np.pi * np.clip(below * 1.5, 0, 1))) * (1 - 0.3 * below)
        groove = 1 - 0.18 * np.exp(-0.5 * ((xs - cx) / max(1.0, 0.06 * half)) ** 2)
        sheen = 0.25 * np.exp(-0.5 * ((ys - surface - 0.12 * gap * rise) / 1.2) ** 2)
        sheen *= np.exp(-0.5 * ((xs - cx - 0.2 * half) / (0.15 * half)) ** 2)
        colour = self.tongue[None, None] * (light * groove)[..., None] + 255 * sheen[..., None]
        return patch * (1 - cover[..., None]) + colour * cover[..., None]

    def _inner_lips(
        self, patch: np.ndarray, ys: np.ndarray, top: np.ndarray, bottom: np.ndarray,
        across: np.ndarray, mw: float,
    ) -> None:  # fmt: skip
        """The wet inside of the lips just within the opening: darker and redder than the outer
        lips (a highlight along the lower one read as a pale seam, enlarged: left out)."""
        band = max(1.0, 0.025 * mw) * (1 - 0.5 * across**2)
        lip = self.tongue * np.array([1.02, 0.8, 0.82])
        for edge, sign in ((top, 1.0), (bottom, -1.0)):
            dist = (ys - edge) * sign
            weight = np.clip(1 - dist / band, 0, 1)  # and outside the edge: the lip
            tone = lip * 0.72 if sign > 0 else lip * 0.82
            patch[:] = patch * (1 - weight[..., None]) + tone[None, None] * weight[..., None]


def _curve(points: np.ndarray, steps: int = 4) -> np.ndarray:
    """A Catmull-Rom curve through `points` (k, 2), `steps` segments between each two."""
    p = np.concatenate([points[:1], points, points[-1:]])
    t = np.linspace(0, 1, steps, endpoint=False)[:, None]
    out = []
    for i in range(1, len(p) - 2):
        a, b, c, d = p[i - 1], p[i], p[i + 1], p[i + 2]
        out.append(
            0.5 * ((2 * b) + (-a + c) * t + (2 * a - 5 * b + 4 * c - d) * t**2
                   + (-a + 3 * b - 3 * c + d) * t**3)
        )  # fmt: skip
    out.append(points[-1:])
    return np.concatenate(out)


def _sorted(contour: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(contour[:, 0])
    return contour[order, 0], contour[order, 1]


#: Widths of the teeth from the middle outwards (central incisor to first molar), in mm.
_TOOTH_MM = (8.6, 6.6, 7.6, 7.0, 6.8, 10.0)


def _arch_teeth(
    patch: np.ndarray, ys: np.ndarray, start: np.ndarray, length: np.ndarray, u: np.ndarray,
    colour: np.ndarray, mw: float, *, upper: bool,
) -> None:  # fmt: skip
    """Paint a row of teeth on a curved arch, in place: seen from the front, teeth get narrower
    and darker towards the corners (the arch turns away), each is rounded (lighter in its
    middle), its biting edge is rounded and a little translucent, and the gaps between them
    are thin dark lines of differing depth. `start` and `length` are per column; an upper row
    hangs down from `start`, a lower row stands up to `start + length`."""
    # Where each column looks onto the arch: angle 0 in front, +-pi/2 at the sides.
    theta = np.arcsin(np.clip(u / 1.02, -1, 1))
    edges = np.cumsum((0.0, *_TOOTH_MM))
    edges = edges / edges[-1] * (np.pi / 2) * 1.05
    side = np.abs(theta)
    index = np.clip(np.searchsorted(edges, side, side="right") - 1, 0, len(_TOOTH_MM) - 1)
    lo, hi = edges[index], edges[index + 1]
    s = (side - lo) / np.maximum(hi - lo, 1e-6)  # 0..1 across the tooth
    rounded = 1.1 - 0.2 * (2 * s - 1) ** 2
    away = 1 - 0.45 * np.sin(side) ** 2
    # Incisors a little longer than the teeth beside them; the molars barely show.
    long = np.array([1.0, 0.9, 0.95, 0.85, 0.8, 0.6])[index]
    tooth_len = length * long * (1 - 0.08 * (2 * s - 1) ** 4)
    gap_depth = np.array([0.4, 0.3, 0.35, 0.3, 0.3, 0.25])[index]
    tooth_px = (hi - lo) * np.cos(side) * mw / 2
    gaps = np.clip(1 - np.minimum(s, 1 - s) * tooth_px / max(0.5, 0.004 * mw), 0, 1)
    gaps *= np.cos(side) ** 0.5  # gaps blur together at the sides
    if upper:
        along = (ys - start) / np.maximum(tooth_len, 1e-3)
    else:
        along = (start + length - ys) / np.maximum(tooth_len, 1e-3)
    inside = (along >= 0) & (along < 1) & (side < edges[-2])
    if not inside.any():
        return
    edge = np.clip((along - 0.8) / 0.2, 0, 1)  # the biting edge: greyer, translucent
    tone = rounded * away * (1 - gap_depth * gaps) * (1 - 0.25 * edge) * (0.92 + 0.08 * (1 - along))
    tint = np.where(edge[..., None] > 0, np.array([0.96, 0.98, 1.04]), 1.0)
    teeth = colour[None, None] * tone[..., None] * tint
    soft = inside.astype(np.float32) * np.clip((1 - along) * tooth_len / 1.0, 0, 1)
    soft = soft[..., None]
    patch[:] = patch * (1 - soft) + teeth * soft
