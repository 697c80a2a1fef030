"""Expressions on the face mesh: lids, brows, smile or frown, an open jaw, and gaze.

Every function moves mesh vertices in place, in the photo's own frame (before the head turns),
by amounts measured on the face itself: the eye's lid gap, the mouth's width. Soft moves (a
smile lifting the cheeks, brows lifting the forehead) are smooth fields with a Gaussian falloff
from a few handles, so the skin between landmarks moves with them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from subject2video.engines.portrait import topology as T


@dataclass(frozen=True)
class FaceMeasures:
    """Sizes of the face at rest that expressions scale with (pixels)."""

    mouth_width: float
    eye_gap: dict[str, np.ndarray]  # per eye: lower lid minus upper lid, per margin point (9, 3)
    eye_width: dict[str, float]
    #: Per vertex, how far a dropped jaw carries it (0 above the mouth, 1 at the chin).
    jaw: np.ndarray
    #: Per vertex, how much a raised brow lifts it (1 on the brows, fading up the forehead).
    brow: np.ndarray

    @classmethod
    def of(cls, mesh: np.ndarray) -> FaceMeasures:
        """Measure the mesh (468, 3) at rest."""
        mouth_width = float(np.linalg.norm(mesh[291, :2] - mesh[61, :2]))
        gaps, widths = {}, {}
        for eye, (upper, lower, _, _) in T.EYES.items():
            gaps[eye] = mesh[list(lower)] - mesh[list(upper)]
            a, b = T.EYE_CORNERS[eye]
            widths[eye] = float(np.linalg.norm(mesh[a, :2] - mesh[b, :2]))
        return cls(mouth_width, gaps, widths, _jaw_weights(mesh), _brow_weights(mesh))


def _jaw_weights(mesh: np.ndarray) -> np.ndarray:
    """1 on the lower lip and chin, 0 on the upper lip and above, fading towards the ears.

    The lips meet along one line when the mouth is shut, so which lip a point belongs to is read
    from the topology; other points count as below the mouth by their height under that line.
    """
    line = mesh[list(T.LIP_INNER_UPPER), :2]
    order = np.argsort(line[:, 0])
    line_y = np.interp(mesh[:, 0], line[order, 0], line[order, 1])
    mw = max(1.0, float(np.linalg.norm(mesh[291, :2] - mesh[61, :2])))
    below = (mesh[:, 1] - line_y) / (0.12 * mw)
    down = np.clip(below, 0, 1) ** 0.7
    down[list(T.LIP_INNER_UPPER + T.LIP_OUTER_UPPER)] = 0.0
    # The lips part most in the middle and taper to the corners, which go halfway (they hinge
    # there): the opening is an almond, not a box with upright sides.
    cx = mesh[[61, 291], 0].mean()
    upper = list(T.LIP_INNER_UPPER[1:-1] + T.LIP_OUTER_UPPER[1:-1])
    lower = list(T.LIP_INNER_LOWER[1:-1] + T.LIP_OUTER_LOWER[1:-1])
    for ids, middle in ((upper, 0.0), (lower, 1.0)):
        u = np.abs(mesh[ids, 0] - cx) / (0.5 * mw)
        toward = np.clip((u - 0.45) / 0.55, 0, 1) ** 1.5
        down[ids] = middle + (0.45 - middle) * toward
    down[[61, 291, 78, 308]] = 0.45
    half = max(1.0, float(np.linalg.norm(mesh[454, :2] - mesh[234, :2])) / 2)
    side = np.clip(1.0 - (np.abs(mesh[:, 0] - cx) / half) ** 2, 0, 1)
    return down * side


def _brow_weights(mesh: np.ndarray) -> np.ndarray:
    """1 on the brows, half on the forehead above them, 0 at and below the eyes."""
    brow_y = mesh[list(T.BROWS), 1].mean()
    eye_y = mesh[list(T.LID_UPPER_L + T.LID_UPPER_R), 1].mean()
    span = max(brow_y - eye_y, -1.0)
    up = np.clip((mesh[:, 1] - eye_y) / min(span, -1.0), 0, None)
    weight = np.where(up <= 1, up, np.clip(1.5 - 0.5 * up, 0.3, 1.0))
    weight[list(T.BROWS)] = 1.0
    return weight


def lids(p: np.ndarray, m: FaceMeasures, eye: str, closure: float, wide: float) -> None:
    """Close (1) or widen the lids of one eye: the upper lid comes down most of the way, the
    lower lid meets it; the skin above follows part way, so the lid's own texture covers the eye."""
    upper, lower, crease, under = (list(s) for s in T.EYES[eye])
    gap = m.eye_gap[eye]
    meet = 0.7
    open_up = -0.22 * wide * (1 - closure)
    p[upper] += gap * (meet * closure + open_up)
    p[lower] -= gap * ((1 - meet) * closure)
    mean_gap = gap.mean(0)
    p[crease] += mean_gap * (0.3 * closure + 0.6 * open_up)
    p[under] -= mean_gap * 0.2 * closure


def squint(p: np.ndarray, rest: np.ndarray, m: FaceMeasures, eye: str, amount: float) -> None:
    """A wink's squeeze on its own side: the cheek and the skin under the eye rise, the lower
    lid with them, and the brow comes down, so the shut eye reads as shut, not as a lid drawn over
    a still face (the other eye stays as open as it was)."""
    _, lower, _, under = (list(s) for s in T.EYES[eye])
    width = m.eye_width[eye]
    lift = np.array([0.0, -0.09 * width * amount])
    p[under, :2] += lift
    p[lower, :2] += 0.5 * lift
    centre = rest[under].mean(0) + np.array([0.0, 0.35 * width, 0.0])[: rest.shape[1]]
    _field(p, rest, centre, 0.6 * lift, 0.45 * width)
    side = T.BROWS[:10] if eye == "l" else T.BROWS[10:]
    p[list(side), 1] += 0.06 * width * amount


def brows(p: np.ndarray, m: FaceMeasures, raise_: float, blink: tuple[float, float]) -> None:
    """Lift the brows (and the forehead a little); a blink pulls its brow down a touch."""
    lift = 0.16 * m.mouth_width * raise_
    p[:, 1] -= m.brow * lift
    for eye, amount in zip(("l", "r"), blink, strict=True):
        side = T.BROWS[:10] if eye == "l" else T.BROWS[10:]
        p[list(side), 1] += 0.04 * m.eye_width[eye] * amount


def _field(p: np.ndarray, rest: np.ndarray, handle: np.ndarray, move: np.ndarray, r: float) -> None:
    """Move every vertex by `move` weighted by a Gaussian of its rest distance to `handle`."""
    d2 = np.sum((rest[:, :2] - handle[:2]) ** 2, axis=1)
    p[:, :2] += np.exp(-d2 / (2 * r * r))[:, None] * move


def smile(p: np.ndarray, rest: np.ndarray, m: FaceMeasures, amount: float) -> None:
    """A smile (amount > 0) lifts and widens the mouth's corners and the cheeks; a frown
    (amount < 0) pulls the corners down."""
    mw = m.mouth_width
    for corner, out in ((61, -1.0), (291, 1.0)):
        if amount >= 0:
            move = np.array([out * 0.07 * mw, -0.065 * mw]) * amount
            _field(p, rest, rest[corner], move, 0.16 * mw)
            cheek = rest[corner] + np.array([out * 0.15 * mw, -0.35 * mw, 0])
            _field(p, rest, cheek, np.array([0.0, -0.04 * mw]) * amount, 0.22 * mw)
        else:
            move = np.array([-out * 0.03 * mw, 0.08 * mw]) * -amount
            _field(p, rest, rest[corner], move, 0.14 * mw)


def jaw(p: np.ndarray, rest: np.ndarray, m: FaceMeasures, opening: float) -> None:
    """Drop the jaw: the lower lip and chin go down (and back a little), the upper lip rises a
    touch and the corners come in, so the lips part onto the mouth's interior."""
    mw = m.mouth_width
    drop = 0.34 * mw * opening
    p[:, 1] += m.jaw * drop
    p[:, 2] -= m.jaw * 0.25 * drop
    p[list(T.LIP_INNER_UPPER[2:-2]), 1] -= 0.04 * mw * opening
    for corner, out in ((61, -1.0), (291, 1.0)):
        _field(p, rest, rest[corner], np.array([-out * 0.04 * mw, 0.1 * mw]) * opening, 0.1 * mw)


def gaze(p: np.ndarray, iris: dict[str, list[int]], m: FaceMeasures, x: float, y: float) -> None:
    """Move each iris's vertices by (x, y) in eye widths (positive: screen right, down)."""
    for eye, ids in iris.items():
        w = m.eye_width[eye]
        p[ids, 0] += 0.16 * w * x
        p[ids, 1] += 0.07 * w * y
