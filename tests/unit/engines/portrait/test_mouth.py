"""The open mouth's painter (engines/portrait/mouth.py), on a synthetic opening and on the rig:
teeth on an arch that are not copies of one tile, a gum only when the lips pull back, a tongue
that rises for l and th, wet inner rims darker than the lips, nothing painted past the lips, and
an opening that tapers to its corners."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from subject2video.engines.portrait import topology as T
from subject2video.engines.portrait.face3d import read_face
from subject2video.engines.portrait.matte import subject_matte
from subject2video.engines.portrait.mouth import (
    LOWER_TEETH_SHADE,
    MouthPainter,
    _arch_teeth,
    _curve,
    _lab,
    _lip_colour,
)
from subject2video.engines.portrait.plan import CHANNELS
from subject2video.engines.portrait.rig3d import Rig3D
from subject2video.media.faces import get_analyzer
from tests.utils.images import second_face_rgb

LIP = np.array([170.0, 90, 90])
WIDTH = 120.0  # the mouth's width in pixels
SIZE = (160, 220)


def painter(own: bool = False) -> MouthPainter:
    teeth = np.array([225.0, 218, 200])
    tongue = np.clip(LIP * np.array([0.85, 0.6, 0.62]), 20, 220)
    dark = np.clip(LIP * np.array([0.32, 0.2, 0.2]), 8, 90)
    return MouthPainter(dark, teeth, tongue, LIP, own, WIDTH)


def opening(gap: float) -> np.ndarray:
    """An almond-shaped opening `gap` px tall at its middle, as the mesh's inner lip points
    (11 along the upper lip, corner to corner, then 11 along the lower, back)."""
    xs = np.linspace(-WIDTH / 2 * 0.9, WIDTH / 2 * 0.9, 11)
    bulge = np.sqrt(1 - (xs / (WIDTH / 2 * 0.9)) ** 2)
    centre = np.array([SIZE[1] / 2, SIZE[0] / 2])
    top = np.column_stack([xs, -0.35 * gap * bulge]) + centre
    bottom = np.column_stack([xs, 0.65 * gap * bulge]) + centre
    return np.concatenate([top, bottom[::-1]])


def paint(gap: float = 40.0, **kwargs: float) -> tuple[np.ndarray, np.ndarray]:
    frame = np.zeros((*SIZE, 3), np.uint8)
    frame[:] = LIP.astype(np.uint8)
    inner = opening(gap)
    painter().paint(frame, inner, None, **kwargs)
    return frame, inner


def test_nothing_is_painted_past_the_lips() -> None:
    """Nothing further than two pixels out from the lips' points: the opening is drawn as a
    curve through them, anti-aliased."""
    frame, inner = paint()
    contour = inner.astype(np.float32).reshape(-1, 1, 2)
    changed = np.argwhere(np.abs(frame.astype(int) - LIP.astype(int)).max(-1) > 1)
    distance = [cv2.pointPolygonTest(contour, (float(x), float(y)), True) for y, x in changed]
    assert len(changed) > 500
    assert min(distance) > -2.0


def test_upper_teeth_are_lightest_in_front_and_lost_in_shadow_at_the_corners() -> None:
    frame, inner = paint()
    light = frame.astype(float).mean(-1)
    cx, top = SIZE[1] / 2, int(inner[5, 1])
    band = light[top + 3 : top + 9]
    front = band[:, int(cx - 0.1 * WIDTH) : int(cx + 0.1 * WIDTH)].max()
    corner = band[:, int(cx + 0.38 * WIDTH) : int(cx + 0.44 * WIDTH)].max()
    assert front > 180  # near the teeth's own colour, not a grey tile
    assert corner < 0.55 * front


def row_of_teeth(lines: float = 1.0) -> np.ndarray:
    patch = np.zeros((60, 240, 3), np.float32)
    u = np.linspace(-1, 1, 240)
    ys = np.arange(60, dtype=np.float32)[:, None]
    start, length = np.full(240, 10.0), np.full(240, 30.0)
    _arch_teeth(patch, ys, start, length, u, np.array([220.0, 215, 200]), 240.0, upper=True,
                lines=lines)  # fmt: skip
    return patch.mean(-1)


def dips(profile: np.ndarray, depth: float = 5.0) -> list[int]:
    """Where a row of teeth has a line: local minima deeper than `depth` below the brightest
    point within 6 px on each side."""
    out = []
    for i in range(6, len(profile) - 6):
        window = profile[i - 6 : i + 7]
        left, right = profile[i - 6 : i].max(), profile[i + 1 : i + 7].max()
        if profile[i] == window.min() and min(left, right) - profile[i] > depth:
            out.append(i)
    return out


def test_no_two_neighbouring_teeth_are_the_same_tile() -> None:
    light = row_of_teeth()
    lines = dips(light[25])
    assert len(lines) >= 5
    runs = [(a + 2, b - 1) for a, b in itertools.pairwise(lines)]
    shades = [float(light[15:30, a:b].mean()) for a, b in runs]
    lengths = [int((light[:, (a + b) // 2] > 5).sum()) for a, b in runs]
    for i in range(len(runs) - 1):
        assert abs(shades[i] - shades[i + 1]) > 1.0 or lengths[i] != lengths[i + 1]
    # The two front teeth are the lightest; towards the corners they fall into shadow.
    assert max(shades) == max(shades[len(runs) // 2 - 1 : len(runs) // 2 + 1])
    corners = max(light[15:30, :24].mean(), light[15:30, -24:].mean())
    assert corners < 0.5 * light[15:30, 108:132].mean()
    # Biting edges are rounded: each tooth is shorter at its sides than at its middle.
    for a, b in runs:
        assert int((light[:, a] > 5).sum()) < int((light[:, (a + b) // 2] > 5).sum())


def test_without_lines_the_row_is_one_surface() -> None:
    """The band above the photo's own teeth (their roots, uncovered by the lip) has no lines."""
    assert len(dips(row_of_teeth(0.0)[25])) == 0
    assert len(dips(row_of_teeth(1.0)[25])) >= 5


def test_gum_shows_only_when_the_lips_pull_back() -> None:
    frame, inner = paint(retract=0.0)
    pulled, _ = paint(retract=1.0)
    cx, top = int(SIZE[1] / 2), int(np.ceil(inner[5, 1]))
    rows = slice(top + 1, top + 4)
    red = lambda f: float((f[rows, cx - 8 : cx + 8, 0] - f[rows, cx - 8 : cx + 8, 2]).mean())  # noqa: E731
    assert red(pulled) > red(frame) + 15  # pink gum above the teeth, not tooth


def test_the_tongue_rises_for_l_and_th() -> None:
    rest, inner = paint(tongue=0.0)
    raised, _ = paint(tongue=1.0)
    cx = int(SIZE[1] / 2)
    column = slice(cx - 3, cx + 3)

    def tongue_top(frame: np.ndarray) -> int:
        """The first row below the upper teeth that is tongue: red, not grey like teeth."""
        rgb = frame[:, column].astype(float).mean(1)
        below_teeth = int(inner[5, 1]) + 18
        tongue = (rgb[:, 0] > 80) & (rgb[:, 0] > 2 * rgb[:, 1])
        return below_teeth + int(np.flatnonzero(tongue[below_teeth:])[0])

    assert tongue_top(raised) < tongue_top(rest) - 3


def test_the_inner_rim_is_darker_than_the_lip_and_lighter_than_the_cavity() -> None:
    frame, inner = paint(gap=50.0)
    cx = int(SIZE[1] / 2)
    bottom = int(np.floor(inner[16, 1]))
    rim = frame[bottom - 2, cx - 10 : cx + 10].astype(float).mean(0)
    assert rim.mean() < LIP.mean() - 10
    assert rim[0] > rim[1] + 20  # red, wet lip, not grey
    light = frame[:, cx].astype(float).mean(-1)
    assert rim.mean() > light[int(inner[5, 1]) + 20 : bottom - 8].min()


@pytest.fixture(scope="module")
def hopper_rig() -> Rig3D:
    image = second_face_rgb()
    box = get_analyzer().subject(image).box
    reading = read_face(image, box)
    assert reading.mesh is not None and reading.geo is not None
    return Rig3D.build(reading.mesh, reading.geo, subject_matte(image, box).alpha)


def test_an_open_mouth_tapers_to_its_corners(hopper_rig: Rig3D) -> None:
    values = {name: 0.0 for name in CHANNELS} | {"zoom": 1.0, "mouth": 0.8}
    moved, _ = hopper_rig.positions(values)
    top = moved[list(T.LIP_INNER_UPPER)]
    bottom = moved[list(T.LIP_INNER_LOWER)]
    gaps = bottom[:, 1] - top[:, 1]
    middle, next_to_corner = gaps[5], (gaps[1] + gaps[-2]) / 2
    assert middle > 0
    # Not a box with upright sides: beside the corners the lips have parted much less than in
    # the middle (0.85 of it when the whole lower lip dropped alike, 0.55 now).
    assert next_to_corner < 0.7 * middle


def test_lips_meeting_over_the_photos_teeth_show_a_dark_seam() -> None:
    """Where lips the photo shows parted meet, a dark line is drawn (their triangles meet edge to
    edge and left a pale crack onto the teeth behind); lips still apart are left alone."""
    own = painter(own=True)
    for gap, drawn in ((0.0, True), (6.0, False)):
        frame = np.zeros((*SIZE, 3), np.uint8)
        frame[:] = (235, 230, 220)  # the teeth behind the crack
        inner = opening(gap)
        own.seam(frame, inner)
        cx, cy = int(SIZE[1] / 2), int(SIZE[0] / 2)
        darkest = frame[cy - 3 : cy + 4, cx - 20 : cx + 20].astype(float).mean(-1).min(0)
        assert (darkest.mean() < 150) == drawn, (gap, darkest.mean())
    closed = np.zeros((*SIZE, 3), np.uint8)
    painter(own=False).seam(closed, opening(0.0))
    assert closed.max() == 0  # a closed-mouth photo has its own seam


def test_lips_closing_over_the_photos_teeth_cover_the_teeth_along_the_join() -> None:
    """On a grin the mesh's lip lines lie on the teeth: lips that met at those lines kept a band
    of teeth above the join, which dlib read as an open mouth (the laughing man of insightface's
    group photo closed on 38% of his m, b and p). Teeth near the join are covered with the lips'
    colour; skin further away is left alone."""
    skin = (205, 160, 140)
    frame = np.zeros((*SIZE, 3), np.uint8)
    frame[:] = skin
    cy, cx = SIZE[0] // 2, SIZE[1] // 2
    frame[cy - 6 : cy, :] = (225, 218, 200)  # teeth just above where the lips meet
    painter(own=True).seam(frame, opening(0.0))
    band = frame[cy - 6 : cy - 1, cx - 20 : cx + 20].astype(float)
    assert np.linalg.norm(band - (225, 218, 200), axis=-1).min() > 40
    assert (frame[cy - 30, cx] == skin).all() and (frame[cy + 30, cx] == skin).all()


def test_teeth_above_the_join_take_the_upper_lips_own_colour() -> None:
    """Above the join the teeth are covered with the upper lip's colour as the photo shows it,
    read from its pixels that are not teeth (on a grin the mesh's upper lip runs half over the
    teeth), so that the lip reads as one lip down to the seam, not a pale band under a dark one."""
    teeth, upper = np.array([225.0, 218, 200]), np.array([120.0, 60, 40])
    photo = np.zeros((*SIZE, 3), np.uint8)
    photo[: SIZE[0] // 2] = upper
    photo[SIZE[0] // 2 :] = teeth
    ring = opening(40.0)  # half over the lip, half over the teeth
    assert np.abs(_lip_colour(photo, ring, LIP, teeth) - upper).max() < 1
    own = painter(own=True)
    own.upper = upper
    frame = np.zeros((*SIZE, 3), np.uint8)
    cy, cx = SIZE[0] // 2, SIZE[1] // 2
    frame[:] = (205, 160, 140)
    frame[cy - 6 : cy, :] = teeth
    own.seam(frame, opening(0.0))
    band = frame[cy - 5 : cy - 2, cx - 20 : cx + 20].astype(float).reshape(-1, 3)
    assert np.linalg.norm(np.median(band, 0) - upper) < 15


def test_the_lower_teeth_are_in_warm_shade_not_grey() -> None:
    """The lower teeth stand in the upper teeth's shadow: darker, and warmer than the upper
    teeth (dimmed evenly they read grey beside them, on Obama's laugh)."""
    teeth = np.array([235.0, 232, 226])  # a photo's own, near white
    upper, lower = _lab(teeth), _lab(teeth * LOWER_TEETH_SHADE)
    assert lower[0] < upper[0] - 8
    assert lower[2] > upper[2] + 5  # yellower (b*), not a neutral grey


def test_pale_lips_in_a_grey_photo_are_not_taken_for_teeth(hopper_rig: Rig3D) -> None:
    """Between mesh lines that read closed lips as parted, a grey photo shows more lip, a little
    paler: not teeth (taken for teeth, that strip moved rigidly with the upper jaw and was never
    painted over, so the mouth never opened: Tom Hanks' 112 px photo read r 0.0). White teeth
    between the same lips, or ivory teeth between red lips, are the photo's own."""
    mesh = hopper_rig.mesh.copy()
    width = float(np.linalg.norm(mesh[291, :2] - mesh[61, :2]))
    lower = list(dict.fromkeys(T.LIP_INNER_LOWER[1:-1] + T.LIP_OUTER_LOWER[1:-1]))
    mesh[lower, 1] += 0.1 * width
    pts = mesh[:, :2]
    inner = pts[list(T.LIP_INNER_UPPER) + list(T.LIP_INNER_LOWER[::-1])]
    lips = pts[list(T.LIP_OUTER_UPPER) + list(T.LIP_OUTER_LOWER[::-1])]

    def photo(skin: tuple, lip: tuple, between: tuple) -> np.ndarray:
        image = np.zeros((*hopper_rig.size[::-1], 3), np.uint8)
        image[:] = skin
        cv2.fillPoly(image, [np.round(lips).astype(np.int32)], lip)
        cv2.fillPoly(image, [np.round(inner).astype(np.int32)], between)
        return image

    grey = (150, 150, 150)
    assert not MouthPainter.of(photo(grey, (120,) * 3, (140,) * 3), mesh).own
    assert MouthPainter.of(photo(grey, (120,) * 3, (235,) * 3), mesh).own
    assert MouthPainter.of(photo((205, 160, 140), (170, 90, 90), (225, 218, 200)), mesh).own
    # A grey photo's painted interior is grey too.
    painted = MouthPainter.of(photo(grey, (120,) * 3, (140,) * 3), mesh)
    assert painted.grey and np.ptp(painted.dark) > 0
    frame = np.full((*SIZE, 3), 120, np.uint8)
    painted.mouth_width = WIDTH
    painted.paint(frame, opening(40.0), None)
    assert np.abs(frame.astype(int) - frame.astype(int).mean(-1, keepdims=True)).max() <= 1


def test_the_photos_own_interior_is_kept_up_to_the_lips_arch() -> None:
    """Under the upper lip the photo's teeth (its own interior, a band 8 px tall) are kept up to
    the lip: the opening is bounded by the upper lip's curve, which bulges past the straight
    edges between its points, and those slivers of lip over the teeth were painted as cavity
    (dark dashes along the upper lip in a laugh)."""
    frame = np.zeros((*SIZE, 3), np.uint8)
    frame[:] = LIP.astype(np.uint8)
    inner = opening(30.0)
    upper = inner[:11]
    own = np.concatenate([upper, upper[::-1] + np.array([0.0, 8.0])])
    painter(own=True).paint(frame, inner, own)
    changed = np.abs(frame.astype(int) - LIP.astype(int)).max(-1) > 1
    band = np.zeros(SIZE, np.uint8)
    for x in range(SIZE[1]):  # the band under the lip's arch, a pixel in from its edges
        top = np.interp(x, upper[:, 0], upper[:, 1])
        bulge = _arc_y(upper, x)
        if upper[0, 0] + 2 <= x <= upper[-1, 0] - 2:
            band[int(np.ceil(min(top, bulge))) : int(np.floor(top + 8)) - 1, x] = 1
    over = int((changed & (band > 0)).sum())
    assert over == 0, f"{over} pixels painted over the photo's own interior under the lip"


def _arc_y(points: np.ndarray, x: float) -> float:
    """The y of the lips' curve through `points` (as the painter draws it) at `x`."""
    curve = _curve(points)
    return float(np.interp(x, curve[:, 0], curve[:, 1]))
