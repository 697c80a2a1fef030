"""The inside of an open mouth, painted in the photo's own tones.

Colours come from the photo: the cavity is the lips' red, darkened; teeth take the colour of the
photo's own teeth where they show, else of the whites of the eyes lifted to ivory; the tongue
and the wet inner rims come from the lip colour. As the lips part, the opening (a curve through
the lips' points, faded in over a pixel inside them, never past them) shows the upper teeth on
an arch under the upper lip, each tooth a little different, falling into shadow towards the
corners; then a domed tongue and, in a wide opening, the lower teeth behind the lower lip's rim.
Teeth the photo already shows are not painted over: they move with the middle of the upper lip
(`Rig3D`), and only what opens around them is painted; they count as teeth only when lighter and
less saturated than the lips. Where lips the photo shows parted come together, `seam` covers the
teeth still showing along the join with the lips' colour and draws the dark line of closed lips.
A black-and-white photo's interior is painted in greys.
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


def _pixels_in(image: np.ndarray, poly: np.ndarray) -> np.ndarray | None:
    """The RGB pixels (float, (N, 3)) inside `poly`; None where it holds fewer than four."""
    x0, y0 = np.floor(poly.min(0)).astype(int)
    x1, y1 = np.ceil(poly.max(0)).astype(int) + 1
    h, w = image.shape[:2]
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    inside = _polygon_mask((y1 - y0, x1 - x0), poly, np.array([x0, y0])) > 127
    pixels = image[y0:y1, x0:x1, :3][inside].astype(np.float64)
    return pixels if len(pixels) >= 4 else None


def _median_colour(image: np.ndarray, poly: np.ndarray, top: float = 1.0) -> np.ndarray | None:
    """The median colour inside `poly`, of its brightest `top` share of pixels."""
    pixels = _pixels_in(image, poly)
    if pixels is None:
        return None
    if top < 1.0:
        light = pixels.sum(1)
        pixels = pixels[light >= np.quantile(light, 1 - top)]
    return np.median(pixels, axis=0)


def _lip_colour(
    image: np.ndarray, poly: np.ndarray, lip: np.ndarray, teeth: np.ndarray
) -> np.ndarray | None:
    """The median colour inside `poly` of the pixels nearer `lip` than `teeth` (CIELAB): on a
    grin the mesh's upper lip runs over the teeth, and its plain median is half teeth."""
    pixels = _pixels_in(image, poly)
    if pixels is None:
        return None
    lab = _lab(pixels)
    lipish = np.linalg.norm(lab - _lab(lip), axis=1) < np.linalg.norm(lab - _lab(teeth), axis=1)
    if lipish.sum() < 4:
        return None
    return np.median(pixels[lipish], axis=0)


#: How far from the join of lips closing over the photo's teeth (a share of the mouth's width)
#: teeth still showing are covered with the lips' colour (`MouthPainter.seam`).
SEAM_COVER = 0.07
#: How much lighter and less saturated (CIELAB L* plus the drop in chroma) than the lips the
#: brightest pixels between the photo's lips must be to count as its teeth; in a grey photo,
#: where lightness alone tells them apart, `GREY_TEETH` lighter.
TEETH_CONTRAST = 10.0
GREY_TEETH = 20.0


#: The lower teeth's colour against the upper's (R, G, B): in the upper teeth's shadow.
LOWER_TEETH_SHADE = np.array([0.86, 0.8, 0.72])


def _lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (L* 0-100, a* and b* about 0) of RGB colours: one, or an image (..., 3)."""
    pixels = np.clip(np.round(rgb), 0, 255).astype(np.uint8).reshape(-1, 1, 3)
    lab = cv2.cvtColor(pixels, cv2.COLOR_RGB2LAB).reshape(np.shape(rgb)).astype(np.float64)
    return lab * np.array([100 / 255, 1, 1]) - np.array([0, 128, 128])


def _looks_like_teeth(between: np.ndarray, lip: np.ndarray) -> bool:
    """Whether the colour between the photo's lips (`between`: its brightest pixels) is teeth
    rather than more lip: clearly lighter than the lips and no more saturated. Brightness alone
    is not enough: a grey photo's pale, closed lips whose mesh reads them parted (a 112 px face
    enlarged) were taken for teeth, moved rigidly with the upper jaw and never painted over, so
    the mouth never opened."""
    a, b = _lab(between), _lab(lip)
    chroma_a, chroma_b = float(np.hypot(*a[1:])), float(np.hypot(*b[1:]))
    if max(chroma_a, chroma_b) < 6.0:
        return float(a[0] - b[0]) >= GREY_TEETH
    return float(a[0] - b[0]) + (chroma_b - chroma_a) >= TEETH_CONTRAST


@dataclass
class MouthPainter:
    """The palette of one photo's mouth, and the painter of its opened interior."""

    dark: np.ndarray
    teeth: np.ndarray
    tongue: np.ndarray
    #: The lower lip's median colour in the photo (the wet inner rims are drawn from it).
    lip: np.ndarray
    #: Whether the photo shows its own interior (teeth) between the lips.
    own: bool
    mouth_width: float
    #: Per point of the inner lip line (corner to corner), how far apart the photo's lips are.
    parted: np.ndarray | None = None
    #: A black-and-white photo: the interior is painted in greys (the palette's reds, drawn
    #: from grey lips by fixed ratios, read as a red mouth in a grey face).
    grey: bool = False
    #: The upper lip's own colour in the photo (its pixels nearer the lips' colour than the
    #: teeth's): lips closing over the teeth are covered with it above the join.
    upper: np.ndarray | None = None

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
        own = own_teeth is not None and _looks_like_teeth(own_teeth, lip)
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
        grey = float(np.ptp(lip)) < 6
        # Teeth are never bluer than they are red: a cast from the eye whites' lighting.
        teeth = np.clip(teeth, 0, 255)
        teeth[2] = min(teeth[2], teeth[0])
        if not own and float(teeth.mean()) < 195:
            # Painted teeth read grey against lit lips when the eye whites are dim (glasses,
            # shade): lift them to a light ivory, keeping their tint.
            teeth = np.clip(teeth * (195 / max(float(teeth.mean()), 1.0)), 0, 245)
        dark = np.clip(lip * np.array([0.38, 0.21, 0.21]), 12, 100)
        tongue = np.clip(lip * np.array([0.85, 0.6, 0.62]), 20, 220)
        parted = pts[list(T.LIP_INNER_LOWER), 1] - pts[list(T.LIP_INNER_UPPER), 1]
        upper = None
        if own:
            ring = pts[list(T.LIP_OUTER_UPPER) + list(T.LIP_INNER_UPPER[::-1])]
            upper = _lip_colour(image, ring, lip, teeth)
        return cls(dark, teeth, tongue, lip, own, mw, parted, grey, upper)

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
        # With the lips' straight-edged polygon too: where the curve runs inside it, the skin's
        # triangles leave pixels that would show the photo's stretched seam as dark notches.
        mask = np.maximum(_polygon_mask(shape, curved, origin), _polygon_mask(shape, inner, origin))
        mask = mask.astype(np.float32) / 255
        if own is not None and self.own:
            # The photo's interior stays the photo's, its lower edge (the photo's lower-lip rim,
            # riding with the upper teeth) included: painting that sliver over moved dlib's
            # identity reading on the astronaut's laugh from 0.315 to 0.354.
            # Its upper edge is the lip's and bulges as the opening's curve does (those slivers,
            # lip over the teeth, were painted as dark dashes in a laugh); its lower edge stays
            # straight (there the curve would reach past the teeth's own triangles).
            arched = np.concatenate([_curve(own[:n]), own[n + 1 : -1]])
            kept = np.maximum(
                _polygon_mask(shape, arched, origin), _polygon_mask(shape, own, origin)
            )
            mask *= 1 - kept.astype(np.float32) / 255
        if mask.max() < 0.05:
            return
        # Distance in from the lips' edge: the rims are wet and rounded, so the opening fades
        # in over a pixel or two inside the contour. Never past it: a mouth one pixel wider
        # eats into the lips and changes the face's identity (dlib's descriptor: 0.37 against
        # 0.33 on the astronaut's laugh).
        inside = cv2.distanceTransform((mask > 0.5).astype(np.uint8), cv2.DIST_L2, 3)
        upper = top_curve - origin
        patch = self._interior(shape, upper, bottom_curve[::-1] - origin, inside, tongue, retract)
        if self.grey:
            patch[:] = patch.mean(axis=2, keepdims=True)
        feather = max(0.8, 0.012 * self.mouth_width)
        weight = (mask * np.clip((inside + 0.5) / feather, 0, 1))[..., None]
        region = frame[y0:y1, x0:x1, :3].astype(np.float32)
        frame[y0:y1, x0:x1, :3] = np.clip(patch * weight + region * (1 - weight) + 0.5, 0, 255)

    def seam(self, frame: np.ndarray, inner: np.ndarray) -> None:
        """Where lips the photo shows parted (over its own teeth) meet, close them, in place:
        - the teeth that still show along the join are covered with the lips' colour: on a grin
          the mesh's lip lines lie on the teeth, so lips that meet at those lines kept a band of
          teeth between them, which reads as an open mouth (the laughing man of the group photo
          read open on most of his m, b and p);
        - the dark line of closed lips is drawn along the join: the two lips' triangles meet
          there edge to edge and leave a crack of pixels that shows the teeth behind them as a
          pale, jagged line."""
        if not self.own:
            return
        n = len(T.LIP_INNER_UPPER)
        top, bottom = inner[:n], inner[n:][::-1]
        gap = bottom[:, 1] - top[:, 1]
        shut = np.clip((2.5 - gap) / 1.5, 0, 1)  # within a pixel: shut; two and a half: none
        if self.parted is not None:
            # Only where the photo shows its teeth between the lips: its corners meet already.
            shut *= np.clip((self.parted - 2.5) / 1.5, 0, 1)
        if shut.max() <= 0:
            return
        line = _curve((top + bottom) / 2)
        weight_at = np.interp(np.linspace(0, n - 1, len(line)), np.arange(n), shut)
        reach = max(2.0, SEAM_COVER * self.mouth_width)
        x0, y0 = np.floor(line.min(0) - np.array([3, reach + 2])).astype(int)
        x1, y1 = np.ceil(line.max(0) + np.array([4, reach + 3])).astype(int)
        h, w = frame.shape[:2]
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if x1 - x0 < 3 or y1 - y0 < 3:
            return
        region = frame[y0:y1, x0:x1, :3].astype(np.float32)
        self._cover_teeth(region, line - (x0, y0), weight_at, reach)
        mask = np.zeros((y1 - y0, x1 - x0), np.float32)
        pts = np.round((line - (x0, y0)) * (1 << SHIFT)).astype(np.int32)
        thick = max(1, round(0.02 * self.mouth_width))
        for i in range(len(pts) - 1):
            strength = float(min(weight_at[i], weight_at[i + 1]))
            if strength > 0:
                a, b = tuple(pts[i]), tuple(pts[i + 1])
                cv2.line(mask, a, b, strength, thick, cv2.LINE_AA, SHIFT)
        mask = cv2.GaussianBlur(mask, (0, 0), 0.5)[..., None]
        colour = self._grey(self.lip * np.array([0.6, 0.42, 0.42]))
        frame[y0:y1, x0:x1, :3] = np.clip(region * (1 - mask) + colour * mask + 0.5, 0, 255)

    def _cover_teeth(
        self, region: np.ndarray, line: np.ndarray, weight_at: np.ndarray, reach: float
    ) -> None:
        """Within `reach` pixels of the join `line` (region coordinates), paint the pixels that
        are nearer the teeth's colour than the lips' with the lips' colour, in place: above
        the join the upper lip (a little darker, in its own shadow), below it the lower."""
        hh, ww = region.shape[:2]
        xs = np.arange(ww, dtype=np.float64)
        order = np.argsort(line[:, 0])
        seam_y = np.interp(xs, line[order, 0], line[order, 1])
        strength = np.interp(xs, line[order, 0], weight_at[order], left=0.0, right=0.0)
        offset = seam_y[None, :] - np.arange(hh, dtype=np.float64)[:, None]  # > 0: above
        near = np.clip((reach - np.abs(offset)) / 1.5, 0, 1) * strength[None, :]
        if near.max() <= 0:
            return
        lab = _lab(region).astype(np.float32)
        to_teeth = np.linalg.norm(lab - _lab(self.teeth).astype(np.float32), axis=2)
        to_lip = np.linalg.norm(lab - _lab(self.lip).astype(np.float32), axis=2)
        toothy = np.clip((to_lip - to_teeth) / 6.0 + 0.5, 0, 1)
        # Over teeth, the lip's own shadow on them would stay as a second dark line above the
        # join: the two read as the edges of an opening. (Only where teeth show: elsewhere a
        # dark upper lip is the lip.)
        shadow = np.clip((_lab(self.lip)[0] - 6.0 - lab[..., 0]) / 6.0, 0, 1) * (offset > 1.5)
        cover = np.maximum(toothy, shadow * (near * toothy).max(axis=0)[None, :])
        cover = cv2.GaussianBlur((near * cover).astype(np.float32), (0, 0), 0.7)[..., None]
        above = 0.85 * self.lip if self.upper is None else self.upper
        lip = np.where(offset[..., None] > 0, self._grey(above), self._grey(self.lip))
        region[:] = region * (1 - cover) + lip * cover

    def _grey(self, colour: np.ndarray) -> np.ndarray:
        return np.full(3, float(np.mean(colour))) if self.grey else colour

    def _interior(
        self,
        shape: tuple[int, int],
        upper: np.ndarray,
        lower: np.ndarray,
        inside: np.ndarray,
        tongue: float = 0.0,
        retract: float = 0.0,
    ) -> np.ndarray:
        """The painted interior: the cavity, upper teeth (with gum when the lip pulls back),
        the tongue, lower teeth, and the wet inner lips over their edges. `inside` is each
        pixel's distance in from the opening's edge."""
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
        # The cavity: in the upper teeth's and the cheeks' shadow, lighter low down in front
        # where the light reaches, near black at the back of the throat.
        shade = (0.7 + 0.45 * depth**1.2) * (1 - 0.4 * across**2)
        throat = np.exp(-0.5 * ((xs - centre_x) / (0.35 * half)) ** 2)[None, :]
        shade = shade * (1 - 0.35 * throat * np.exp(-0.5 * ((depth - 0.45) / 0.2) ** 2))
        warm = np.array([1.0, 0.78, 0.78], np.float32)
        patch = (self.dark * warm)[None, None] * shade[..., None]
        if max_gap > 0.08 * mw:
            strength = min(1.0, (max_gap - 0.08 * mw) / (0.12 * mw) + 0.6 * tongue)
            patch = self._tongue(patch, xs, ys, top, bottom, centre_x, half, strength, tongue)
        if max_gap > 0.15 * mw:
            strength = min(1.0, (max_gap - 0.15 * mw) / (0.1 * mw))
            # The lower teeth: the front ones, standing up behind the lower lip, in the upper
            # teeth's shadow; under two pixels they read as a pale seam, so they stay hidden.
            front = np.clip((0.6 - across) / 0.2, 0, 1)
            length = np.minimum(0.16 * gap, 0.07 * mw) * strength * front
            if float(length.max()) >= 2.0:
                # Their feet behind the lower lip's wet rim, which overlaps them.
                base = bottom - 0.03 * mw
                # In shade they are dimmer and warmer (the light reaching them is what the
                # lips and the mouth give back), not a uniform dimming: that read as grey
                # beside the lit upper teeth (Obama's laugh, enlarged).
                lower_teeth = self._grey(self.teeth * LOWER_TEETH_SHADE)
                _arch_teeth(patch, ys, base - length, length, u, lower_teeth, mw, upper=False)
        if self.own:
            # The photo's teeth move rigidly with the upper jaw while the lip above them bends:
            # the band the lip uncovers is more of the same teeth (their roots, in the lip's
            # shade), not the dark of the mouth.
            length = np.minimum(0.2 * gap, 0.06 * mw)
            _arch_teeth(patch, ys, top, length, u, self.teeth, mw, upper=True, lines=0.0)
        else:
            gum = np.clip(retract - 0.3, 0, 1) * min(0.35 * max_gap, 0.035 * mw)
            if gum > 0.3:
                band = (ys >= top) & (ys < top + gum) & (across < 0.8)
                gum_colour = np.clip(self.tongue * np.array([1.1, 0.85, 0.85]), 0, 255)
                patch[band] = (gum_colour * 0.9)[None]
            length = np.minimum(0.4 * gap, 0.12 * mw)
            _arch_teeth(patch, ys, top + gum, length, u, self.teeth, mw, upper=True)
        self._inner_lips(patch, ys, top, bottom, inside, across, mw)
        return patch

    def _tongue(
        self, patch: np.ndarray, xs: np.ndarray, ys: np.ndarray, top: np.ndarray,
        bottom: np.ndarray, cx: float, half: float, strength: float, tip: float,
    ) -> np.ndarray:  # fmt: skip
        """A rounded tongue lying on the floor of the mouth behind the lower teeth: a dome
        narrower than the opening, lit from the front on its top, shaded round its sides and
        into its edge (where it meets the dark of the cavity), with a central groove and a soft
        sheen; `tip` raises its front towards the upper teeth (l, th)."""
        gap = np.maximum(bottom - top, 1.0)
        rise = 0.3 + 0.45 * tip  # how far up the opening the tongue's top reaches
        reach = 0.72 * half
        v = (xs - cx) / reach
        dome = np.sqrt(np.clip(1 - v**2, 0, 1))
        surface = bottom - gap * rise * dome
        soft = max(1.0, 0.12 * float(gap.max()))
        cover = np.clip((ys - surface) / soft, 0, 1) * (np.abs(v) < 1)[None, :] * strength
        below = np.clip((ys - surface) / np.maximum(gap * rise, 1.0), 0, 1)
        # Round across (cylindrical shading), lit on top, darker further down into the mouth.
        light = (0.55 + 0.45 * dome[None, :] ** 0.7) * (0.95 - 0.3 * below)
        light = light * (0.75 + 0.25 * np.clip((ys - surface) / (2.5 * soft), 0, 1))
        groove = 1 - 0.15 * np.exp(-0.5 * ((xs - cx) / max(1.0, 0.05 * half)) ** 2)
        sheen = 0.18 * np.exp(-0.5 * ((ys - surface - 0.15 * gap * rise) / 1.3) ** 2)
        sheen *= np.exp(-0.5 * ((xs - cx + 0.25 * half) / (0.2 * half)) ** 2)
        colour = self.tongue[None, None] * (light * groove)[..., None] + 230 * sheen[..., None]
        return patch * (1 - cover[..., None]) + colour * cover[..., None]

    def _inner_lips(
        self, patch: np.ndarray, ys: np.ndarray, top: np.ndarray, bottom: np.ndarray,
        inside: np.ndarray, across: np.ndarray, mw: float,
    ) -> None:  # fmt: skip
        """The wet, rounded inside of the lips just within the opening: redder and darker
        than the outer lips, falling off into the cavity (or over the teeth's tops) as the
        rim turns away from the light. The upper rim is thinner: the teeth sit just under it.
        A highlight along the lower one read as a pale seam, enlarged: left out."""
        lip = self.lip * np.array([0.9, 0.72, 0.74])
        lower_side = (ys - top) > (bottom - ys)
        band = np.where(lower_side, 0.035, 0.02) * mw * (1 - 0.4 * across**2)
        t = np.clip(inside / np.maximum(band, 1.0), 0, 1)
        weight = (1 - t) ** 1.5  # the rim, rounding away into the dark
        shade = np.where(lower_side, 0.75, 0.65) * (1 - 0.5 * t)
        tone = lip[None, None] * shade[..., None]
        patch[:] = patch * (1 - weight[..., None]) + tone * weight[..., None]


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


#: Widths of the teeth from the middle outwards (central incisor to first molar), in mm, upper
#: and lower.
_TOOTH_MM = {True: (8.6, 6.6, 7.6, 7.0, 6.8, 10.0), False: (5.4, 5.9, 6.9, 7.0, 7.1, 11.0)}
#: Per tooth, left side then right (central incisor outwards): small differences of shade and
#: length, as real teeth have, so that no two read as copies of one tile.
_TOOTH_SHADE = np.array(
    [[1.0, 0.95, 0.97, 0.93, 0.9, 0.88], [0.98, 0.96, 0.94, 0.95, 0.89, 0.88]], np.float32
)
_TOOTH_LENGTH = np.array(
    [[1.0, 0.86, 0.94, 0.8, 0.74, 0.55], [0.97, 0.88, 0.92, 0.82, 0.75, 0.55]], np.float32
)


def _arch_teeth(
    patch: np.ndarray, ys: np.ndarray, start: np.ndarray, length: np.ndarray, u: np.ndarray,
    colour: np.ndarray, mw: float, *, upper: bool, lines: float = 1.0,
) -> None:  # fmt: skip
    """Paint a row of teeth on a curved arch, in place. Seen from the front, the arch is
    narrower than the opening: teeth get narrower and fall into the cheeks' shadow towards the
    corners (past the last premolars the corners show only the dark of the mouth). Each tooth
    is rounded (lighter in its middle), a little different from its neighbours in shade and
    length, shadowed at its root by the lip, with a rounded, translucent biting edge; the lines
    between teeth are faint along their middle and open into small dark notches at the biting
    edge and the root. `start` and `length` are per column; an upper row hangs down from
    `start`, a lower row stands up to `start + length`; `lines` scales the lines between teeth
    (the lower row's are fainter: narrower teeth, in shadow)."""
    widths = _TOOTH_MM[upper]
    # Where each column looks onto the arch: angle 0 in front, +-pi/2 at the sides.
    theta = np.arcsin(np.clip(u / 1.15, -1, 1))
    edges = np.cumsum((0.0, *widths))
    edges = edges / edges[-1] * (np.pi / 2) * 1.05
    side = np.abs(theta)
    index = np.clip(np.searchsorted(edges, side, side="right") - 1, 0, len(widths) - 1)
    right = (u > 0).astype(int)
    lo, hi = edges[index], edges[index + 1]
    s = (side - lo) / np.maximum(hi - lo, 1e-6)  # 0..1 across the tooth
    rounded = 1.08 - 0.22 * lines * (2 * s - 1) ** 2
    # Turned away from the light, and at the corners lost in the cheeks' shadow.
    away = (0.08 + 0.92 * np.cos(side) ** 2.5) * np.clip((1 - np.abs(u)) / 0.3, 0, 1) ** 0.8
    tooth_len = length * _TOOTH_LENGTH[right, index] * (1 - 0.22 * np.abs(2 * s - 1) ** 3)
    tooth_px = (hi - lo) * np.cos(side) * mw / 2 / 1.15
    line = np.clip(1 - np.minimum(s, 1 - s) * tooth_px / max(0.6, 0.006 * mw), 0, 1)
    line *= np.cos(side) ** 0.5 * (lines if upper else 0.6 * lines)  # they blur at the sides
    if upper:
        along = (ys - start) / np.maximum(tooth_len, 1e-3)
    else:
        along = (start + length - ys) / np.maximum(tooth_len, 1e-3)
    inside = (along >= 0) & (along < 1)
    if not inside.any():
        return
    # Between teeth: faint along the middle, darker at the root and where the rounded edges
    # part (the embrasures).
    notch = 0.3 + 0.7 * (np.clip(1 - along / 0.25, 0, 1) + np.clip((along - 0.7) / 0.3, 0, 1))
    root = 0.72 + 0.28 * np.clip(along / 0.35, 0, 1)  # in the lip's shadow
    edge = np.clip((along - 0.78) / 0.22, 0, 1)  # the biting edge: greyer, translucent
    tone = (
        rounded * away * _TOOTH_SHADE[right, index] * root * (1 - 0.55 * line * notch)
        * (1 - 0.22 * edge)
    )  # fmt: skip
    tint = 1 + edge[..., None] * (np.array([0.96, 0.98, 1.05]) - 1)
    teeth = colour[None, None] * tone[..., None] * tint
    soft = inside.astype(np.float32) * np.clip((1 - along) * tooth_len / 1.0, 0, 1)
    soft = soft[..., None]
    patch[:] = patch * (1 - soft) + teeth * soft
