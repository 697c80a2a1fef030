"""The 3D rig on the astronaut's face: rest is the photo, a turn moves the nose across the face
and hides the far side, lids meet, the jaw drops the chin, the irises follow the gaze."""

from __future__ import annotations

import math
from dataclasses import replace

import cv2
import numpy as np
import pytest

from subject2video.engines.portrait import render, render3d
from subject2video.engines.portrait import topology as T
from subject2video.engines.portrait.face3d import read_face
from subject2video.engines.portrait.matte import background_plate, subject_matte
from subject2video.engines.portrait.plan import CHANNELS
from subject2video.engines.portrait.render import camera_matrix
from subject2video.engines.portrait.render3d import Renderer3D, _lash_line
from subject2video.engines.portrait.rig3d import CAMERA_DISTANCE, EYEBALL, INTERIOR, SKIN, Rig3D
from subject2video.engines.portrait.scene import Grader, defocus
from subject2video.media.faces import get_analyzer
from tests.utils.images import face_rgb


def rest_values(**changes: float) -> dict[str, float]:
    values = {name: 0.0 for name in CHANNELS}
    values["zoom"] = 1.0
    values.update(changes)
    return values


@pytest.fixture(scope="module")
def built() -> tuple[np.ndarray, np.ndarray, Rig3D]:
    image = face_rgb()
    box = get_analyzer().subject(image).box
    reading = read_face(image, box)
    assert reading.mesh is not None and reading.geo is not None
    alpha = subject_matte(image, box).alpha
    return image, alpha, Rig3D.build(reading.mesh, reading.geo, alpha)


def test_at_rest_every_vertex_is_where_the_photo_has_it(built) -> None:
    _, _, rig = built
    positions, _ = rig.positions(rest_values())
    assert np.allclose(positions, rig.rest[:, :2], atol=1e-6)
    assert np.allclose(rig.sources(rest_values()), rig.rest[:, :2])


def test_the_layers_are_all_there(built) -> None:
    _, _, rig = built
    layers = set(rig.layer.tolist())
    assert {EYEBALL, SKIN} <= layers
    # Two eyes' worth of eyeball triangles, and skin triangles for most of the mesh.
    assert (rig.layer == EYEBALL).sum() >= 10
    assert (rig.layer == SKIN).sum() > 300
    assert (rig.layer == INTERIOR).sum() >= 0


@pytest.mark.parametrize("yaw", [20.0, -20.0])
def test_a_turn_moves_the_nose_across_the_face(built, yaw: float) -> None:
    _, _, rig = built
    rest, _ = rig.positions(rest_values())
    turned, depth = rig.positions(rest_values(yaw=yaw))
    nose, left, right = T.NOSE_TIP, T.CHEEK_L, T.CHEEK_R
    share = (rest[nose, 0] - rest[left, 0]) / (rest[right, 0] - rest[left, 0])
    now = (turned[nose, 0] - turned[left, 0]) / (turned[right, 0] - turned[left, 0])
    # The nose's place between the cheeks moves by sin(20°)/2 or so, towards the turn.
    assert np.sign(now - share) == np.sign(yaw)
    assert abs(now - share) > 0.1
    # The far cheek comes nearer the nose (foreshortened); the near one moves away from it.
    far, near = (right, left) if yaw > 0 else (left, right)
    assert abs(turned[far, 0] - turned[nose, 0]) < 0.8 * abs(rest[far, 0] - rest[nose, 0])
    assert abs(turned[near, 0] - turned[nose, 0]) > abs(rest[near, 0] - rest[nose, 0])
    # And the far cheek is further from the viewer than the near one.
    assert depth[far] < depth[near]


def test_a_turn_draws_the_nose_after_the_far_cheek(built) -> None:
    image, alpha, rig = built
    plate = background_plate(image, alpha, 10)
    renderer = Renderer3D(image, alpha, plate, rig)
    values = rest_values(yaw=20.0)
    positions, depth = rig.positions(values)
    renderer.render3d(positions, depth, rig.sources(values), 0.0)
    _, order = renderer._affines(positions)
    rank = {int(t): i for i, t in enumerate(order)}

    def last_with(vertex: int) -> int:
        return max(rank[t] for t in np.flatnonzero(np.any(rig.triangles == vertex, axis=1)))

    assert last_with(T.NOSE_TIP) > last_with(T.CHEEK_R)


def test_closed_lids_meet_the_lower_lids_over_unmoved_eyeballs(built) -> None:
    _, _, rig = built
    positions, _ = rig.positions(rest_values(blink_l=1.0, blink_r=1.0))
    for upper, lower, _, _ in T.EYES.values():
        assert np.allclose(positions[list(upper)], positions[list(lower)], atol=1e-6)
    # The eyeball copies stay where the open eyes were: the lids slide over them.
    copies = np.arange(len(rig.eyeball_of)) + rig.eyeball_first
    assert np.allclose(positions[copies], rig.rest[rig.eyeball_of, :2], atol=1e-6)


def test_a_closed_eyes_lashes_are_a_fine_line_that_tapers_to_the_corners() -> None:
    # On a close-up's eye 85 px wide: about 4 px thick in the middle of the lid (it was 8 px,
    # even and opaque: a painted bar), thinner at the corners, hanging mostly below the edge.
    xs = np.linspace(10.0, 95.0, 16)
    edge = np.stack([xs, 30.0 + 0.004 * (xs - 52.5) ** 2], axis=1)  # a lid's edge, curved up
    line = _lash_line((60, 110), edge, 85.0)
    assert line.dtype == np.float32 and line.min() >= 0.0 and line.max() <= 1.0

    def thickness(x: int) -> int:
        return int((line[:, x] > 0.5).sum())

    assert 3 <= thickness(52) <= 6
    assert max(thickness(12), thickness(93)) <= 3 < thickness(52)
    rows = np.arange(line.shape[0])
    centre = float((line[:, 52] * rows).sum() / line[:, 52].sum())
    assert centre > edge[7:9, 1].mean()


def test_a_closing_lid_is_painted_only_over_the_subject(built) -> None:
    # `cover` (the moved subject's matte) keeps the lid and its lashes off the background: a
    # far eye's corner a turn takes past the face's outline was lashed onto the wall.
    image, _, rig = built
    positions, _ = rig.positions(rest_values(blink_l=1.0, blink_r=1.0))
    lash = np.array([40.0, 30.0, 30.0])
    painted = [image.copy() for _ in range(3)]
    height, width = image.shape[:2]
    nowhere = (np.zeros((height, width), np.uint8), (0, 0))
    everywhere = (np.full((height - 20, width - 20), 255, np.uint8), (10, 10))
    for frame, cover in zip(painted, (None, nowhere, everywhere), strict=True):
        render3d._close_lid(frame, positions, "l", 1.0, lash, cover)
    plain, off, on = painted
    assert np.abs(plain.astype(int) - image).max() > 100  # the lashes are drawn
    assert np.array_equal(off, image)
    assert np.array_equal(on, plain)


def test_a_wink_leaves_the_other_eye_open_and_a_little_wider(built) -> None:
    _, _, rig = built
    rest, _ = rig.positions(rest_values())
    positions, _ = rig.positions(rest_values(blink_l=1.0))
    upper, lower = list(T.LID_UPPER_R[2:-2]), list(T.LID_LOWER_R[2:-2])
    assert np.all(positions[upper, 1] < positions[lower, 1])
    assert np.all(positions[upper, 1] <= rest[upper, 1])


def test_an_open_jaw_parts_the_lips_and_drops_the_chin(built) -> None:
    _, _, rig = built
    rest, _ = rig.positions(rest_values())
    opened, _ = rig.positions(rest_values(mouth=1.0))
    mouth_width = np.linalg.norm(rest[291] - rest[61])
    lower, upper = list(T.LIP_INNER_LOWER[3:-3]), list(T.LIP_INNER_UPPER[3:-3])
    gap = (opened[lower, 1] - opened[upper, 1]).mean() - (rest[lower, 1] - rest[upper, 1]).mean()
    assert gap > 0.3 * mouth_width
    assert opened[T.CHIN, 1] - rest[T.CHIN, 1] > 0.25 * mouth_width
    # The upper lip does not come down with the jaw; the eyes do not move at all.
    assert np.all(opened[upper, 1] <= rest[upper, 1] + 1e-6)
    assert np.allclose(opened[list(T.LID_UPPER_L)], rest[list(T.LID_UPPER_L)])


def test_gaze_moves_the_iris_and_not_the_lids(built) -> None:
    _, _, rig = built
    rest, _ = rig.positions(rest_values())
    looked, _ = rig.positions(rest_values(gaze_x=1.0))
    for eye, ids in rig.iris_copies.items():
        assert ids, f"no iris vertices in eye {eye}"
        assert np.all(looked[ids, 0] - rest[ids, 0] > 1.0)
    assert np.allclose(looked[list(T.LID_UPPER_L)], rest[list(T.LID_UPPER_L)])


def test_speaking_first_closes_the_lips_the_photo_has_parted(built) -> None:
    """The astronaut smiles with parted lips; while she speaks (`settle`) the jaw opens from
    closed lips, so a silence shows them together (visemes.shape)."""
    _, _, rig = built
    upper, lower = list(T.LIP_INNER_UPPER[2:-2]), list(T.LIP_INNER_LOWER[2:-2])

    def gap(points: np.ndarray) -> float:
        return float(np.mean(points[lower, 1] - points[upper, 1]))

    rest, _ = rig.positions(rest_values())
    settled, _ = rig.positions(rest_values(settle=1.0))
    assert gap(rest) > 2.0
    assert gap(settled) < 0.3 * gap(rest)
    opened, _ = rig.positions(rest_values(settle=1.0, mouth=0.5))
    assert gap(opened) > gap(rest)


def test_a_turn_and_a_breath_leave_the_outline_below_the_head_still(built) -> None:
    """Only the head turns: the collar and shoulders beside the neck, near the face but outside
    the head, keep their edge against the background (it moved with the head before, and the
    still background beside it read as a halo), and breathing lifts the chest, not the outline."""
    import cv2

    image, alpha, rig = built
    renderer = Renderer3D(image, alpha, background_plate(image, alpha, grow=12), rig)

    def frame(**changes: float) -> np.ndarray:
        values = rest_values(**changes)
        moved, depth = rig.positions(values)
        out = renderer.render3d(moved, depth, rig.sources(values), 0.0)
        return out[:, :, :3].astype(np.int16).copy()

    change = np.abs(frame(yaw=15.0, breath=1.0) - frame()).max(axis=2)
    binary = (alpha > 0.5).astype(np.uint8)
    edge = cv2.dilate(binary, np.ones((5, 5), np.uint8)) != cv2.erode(binary, np.ones((5, 5)))
    geo = rig.geo
    hx, hy, hrx, hry = geo.head
    ys, xs = np.mgrid[0 : alpha.shape[0], 0 : alpha.shape[1]]
    ellipse = np.hypot((xs - hx) / hrx, (ys - hy) / hry)
    below = edge & (ellipse > 1.8) & (ys > geo.chin_y - 0.2 * geo.height)
    head = edge & (ellipse < 1.1)
    assert below.sum() > 200 and head.sum() > 200
    assert float(change[below].mean()) < 0.5, float(change[below].mean())
    assert float(change[head].mean()) > 5  # the hair's edge turns with the head


@pytest.mark.parametrize("smile", [0.6, 1.0])
def test_a_smile_leaves_no_hole_at_the_corners_of_the_mouth(built, smile: float) -> None:
    """Inside the lips' inner line, every pixel is drawn by a triangle: the mouth's own interior
    or the skin. The photo's interior (her teeth) moves rigidly with the upper lip, and a smile
    drew the corners up past it; the uncovered pixels showed the photo unmoved there (pale
    flecks of teeth and skin in the dark corners)."""
    image, _, rig = built
    moved, _ = rig.positions(rest_values(smile=smile))
    h, w = image.shape[:2]
    drawn = np.zeros((h, w), np.uint8)
    for tri in rig.triangles[(rig.layer == INTERIOR) | (rig.layer == SKIN)]:
        cv2.fillConvexPoly(drawn, np.round(moved[tri] * 16).astype(np.int32), 255, cv2.LINE_8, 4)
    inner = list(T.LIP_INNER_UPPER) + list(T.LIP_INNER_LOWER[::-1])
    mouth = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mouth, [np.round(moved[inner] * 16).astype(np.int32)], 255, cv2.LINE_8, 4)
    mouth = cv2.erode(mouth, np.ones((3, 3), np.uint8))
    holes = np.argwhere((mouth > 0) & (drawn == 0))
    assert len(holes) == 0, f"{len(holes)} pixels of the mouth undrawn, at {holes[:5].tolist()}"


def test_a_graded_renderer_paints_the_open_mouth_graded(built) -> None:
    """`Renderer3D.grade` grades the photo once and the mouth's and lids' palettes with it: the
    open mouth it paints is the ungraded one graded, within 10 levels on 99% of its pixels
    (the palettes left ungraded: 23)."""
    image, alpha, rig = built
    plate = background_plate(image, alpha, 10)
    values = rest_values(mouth=0.9, blink_l=0.9)
    positions, depth = rig.positions(values)
    sources = rig.sources(values)
    plain, graded = Renderer3D(image, alpha, plate, rig), Renderer3D(image, alpha, plate, rig)
    grader = Grader("golden")
    graded.grade(grader)
    rgba = plain.render3d(positions, depth, sources, 0.9, (0.9, 0.0))
    expected = grader(cv2.cvtColor(rgba, cv2.COLOR_RGBA2RGB))
    made = graded.render3d(positions, depth, sources, 0.9, (0.9, 0.0))[..., :3]
    box = np.round(positions[list(T.LIP_INNER_UPPER + T.LIP_INNER_LOWER)]).astype(int)
    (x0, y0), (x1, y1) = box.min(0), box.max(0) + 1
    mouth = np.abs(expected[y0:y1, x0:x1].astype(int) - made[y0:y1, x0:x1])
    assert np.abs(expected.astype(int) - plain.subject[..., :3]).max() > 30  # graded at all
    assert np.percentile(mouth, 99) <= 14


@pytest.mark.parametrize("grade", ["golden", "black-and-white", "vintage", "cold"])
def test_a_renderers_grade_is_the_grade_of_the_photos_rgb(built, grade: str) -> None:
    """`Renderer.grade` grades the subject's and the plate's RGB as the grader grades an RGB
    image, and leaves the matte as it was."""
    image, alpha, rig = built
    plate = background_plate(image, alpha, 10)
    renderer = Renderer3D(image, alpha, plate, rig)
    matte = renderer.subject[..., 3].copy()
    grader = Grader(grade)
    renderer.grade(grader)
    assert np.array_equal(renderer.subject[..., :3], grader(image))
    assert np.array_equal(renderer.plate[..., :3], grader(plate))
    assert np.array_equal(renderer.subject[..., 3], matte)


def test_an_out_of_focus_plate_moves_at_half_size_as_it_would_whole(built) -> None:
    # A shallow depth of field blurs the plate; a camera's move then warps it at half size and
    # enlarges it: within a few grey levels of the whole warp (the half size's own slight blur
    # on the plate's; away from the frame's border, which each reflects at its own size),
    # graded or not.
    image, alpha, rig = built
    plate = defocus(background_plate(image, alpha, 10), 90)  # the astronaut's face height
    values = rest_values()
    positions, depth = rig.positions(values)
    backdrop = camera_matrix((image.shape[1], image.shape[0]), (256.0, 200.0), 1.12, 0.02)
    assert backdrop is not None
    frames = []
    for soft in (False, True):
        renderer = Renderer3D(image, alpha, plate, rig)
        if soft:
            renderer.soft_plate()
            renderer.render3d(positions, depth, rig.sources(values), 0.0, backdrop=backdrop)
        renderer.grade(Grader("golden"))  # after a first moved frame: the half plate is graded
        frames.append(
            renderer.render3d(positions, depth, rig.sources(values), 0.0, backdrop=backdrop)
        )
    whole, half = (f[16:-16, 16:-16, :3].astype(int) for f in frames)
    assert np.abs(whole - half).max() <= 6
    assert np.abs(whole - half).mean() < 0.3


def _nose_shift(rig: Rig3D, yaw: float) -> float:
    rest, _ = rig.positions(rest_values())
    turned, _ = rig.positions(rest_values(yaw=yaw))
    return float(turned[T.NOSE_TIP, 0] - rest[T.NOSE_TIP, 0])


@pytest.mark.parametrize("photo_yaw", [-37.0, -48.0, 40.0])
def test_a_face_turned_in_the_photo_turns_further_away_only_part_of_the_way(
    built, photo_yaw: float
) -> None:
    """A face turned in the photo, turned further from the camera, ends near AWAY_LIMIT from
    facing it (past it the far eye folds behind the nose, and dlib lost the turned woman at
    -37° turned a further 18°), but still turns AWAY_FLOOR of the asked turn at least; a face
    that faces the camera turns all the way."""
    from subject2video.engines.portrait.plan import TURN_DEG
    from subject2video.engines.portrait.rig3d import AWAY_FLOOR, AWAY_LIMIT

    _, _, rig = built
    facing = replace(rig, photo_yaw=0.0, reveal=1.0)
    turned = replace(rig, photo_yaw=photo_yaw, reveal=0.5)
    away = TURN_DEG if photo_yaw > 0 else -TURN_DEG
    expected = max(AWAY_FLOOR, (AWAY_LIMIT - abs(photo_yaw)) / TURN_DEG)
    assert turned.away == pytest.approx(expected)
    assert 0.5 < turned.away < 1.0
    made = _nose_shift(turned, away) / _nose_shift(facing, away)
    assert made == pytest.approx(turned.away, abs=0.08)
    # Towards the camera, `reveal` as before.
    back = _nose_shift(turned, -away) / _nose_shift(facing, -away)
    assert back == pytest.approx(0.5, abs=0.08)


@pytest.mark.parametrize("head_yaw", [0.0, -37.0, 30.0])
def test_a_look_up_or_down_pitches_the_head_about_its_own_left_right_axis(
    built, head_yaw: float
) -> None:
    """A head turned in the photo looks down about its own left-right axis, which is turned with
    it: about the camera's, a head turned 37° rolls as it looks down (on the turned woman, "She
    looks down" read 6° of roll). Points on that axis through the pivot stay put as the head
    pitches; the nose, off it, moves down."""
    _, _, rig = built
    n = len(rig.rest)
    turned = replace(rig, head_yaw=head_yaw, head=np.ones(n))
    h = math.radians(head_yaw)
    # The head's left-right axis after a yaw of h (the rig's yaw takes +x to (cos h, -sin h)
    # in x and z, z towards the viewer).
    distance = CAMERA_DISTANCE * rig.geo.width

    def seen(rel: np.ndarray) -> np.ndarray:
        """Points about the pivot (3D) as the rig holds them: x and y as the photo shows them."""
        out = rel.copy()
        out[:, :2] *= (distance / (distance - rel[:, 2]))[:, None]
        return rig.pivot + out

    along = np.linspace(-0.6, 0.6, n)[:, None] * rig.geo.width
    axis = seen(along * np.array([math.cos(h), 0.0, -math.sin(h)]))
    still, _ = turned._turn(axis.copy(), rest_values())
    pitched, _ = turned._turn(axis.copy(), rest_values(pitch=-12.0))
    assert np.abs(pitched - still).max() < 1e-6
    nose = seen(np.tile(np.array([math.sin(h), 0.0, math.cos(h)]) * rig.geo.width, (n, 1)))
    at_rest, _ = turned._turn(nose.copy(), rest_values())
    down, _ = turned._turn(nose.copy(), rest_values(pitch=-12.0))
    assert (down[0, 1] - at_rest[0, 1]) > 0.05 * rig.geo.width


def test_a_turn_leaves_no_hole_in_the_faces_lattice(built, monkeypatch) -> None:
    # Where the turned mesh folds at the silhouette, a few of the face's lattice points lie in
    # no triangle. They take a neighbour's triangle, and so a source beside their neighbours';
    # the identity map they had took the photo's pixel at the point's place in the frame, which
    # the turn (or a camera) had moved: a dark speck of eye or hair on a cheek.
    image, alpha, rig = built
    renderer = Renderer3D(image, alpha, background_plate(image, alpha, 10), rig)
    values = rest_values(yaw=-30.0)
    positions, depth = rig.positions(values)
    renderer.lattices3d(positions, depth, rig.sources(values))
    rows, order = renderer._affines(positions)
    fine = renderer.fine
    with monkeypatch.context() as patch:
        patch.setattr(render, "HOLE_FILL", 0)
        holes = renderer._index(fine, positions, order) == 0
    assert holes.sum() >= 5
    before = renderer._lookup(fine, rows, np.where(holes, 0, 1))  # identity where the holes are
    index = renderer._index(fine, positions, order)
    assert (index[holes] > 0).all()
    after = renderer._lookup(fine, rows, index)
    x, y = after[0].copy(), after[1].copy()
    x[holes], y[holes] = np.nan, np.nan  # the neighbours that were not holes

    def near_its_neighbours(maps: tuple[np.ndarray, np.ndarray], i: int, j: int) -> bool:
        for table, neighbours in zip(maps, (x, y), strict=True):
            near = neighbours[max(0, i - 2) : i + 3, max(0, j - 2) : j + 3]
            if not np.nanmin(near) - 3 <= table[i, j] <= np.nanmax(near) + 3:
                return False
        return True

    points = list(zip(*np.nonzero(holes), strict=True))
    assert all(near_its_neighbours(after, i, j) for i, j in points)
    assert not any(near_its_neighbours(before, i, j) for i, j in points)
