"""The evaluator's new measures on landmarks and pictures whose answer is known: poses made by
projecting a head model at set angles, eyes shut to a set share, mouths painted in set colours."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from subject2video.media.faces import _MODEL, _MODEL_INDICES, eye_aspect_ratio, get_analyzer
from subject2video.quality.measures import (
    MouthMeter,
    blink_closure,
    pose_against,
    pose_reached,
)
from subject2video.quality.motion import Signals
from subject2video.quality.track import Track
from tests.utils.images import face_rgb

SIZE = (640, 640)


@pytest.fixture(scope="module")
def frontal() -> np.ndarray:
    face = get_analyzer().subject(face_rgb())
    assert face.landmarks is not None
    return face.landmarks.astype(np.float64) * 1.25


def posed(base: np.ndarray, yaw: float, pitch: float) -> np.ndarray:
    """`base` landmarks with the rigid points replaced by the head model seen at (yaw, pitch)."""
    focal = float(max(SIZE))
    camera = np.array([[focal, 0, SIZE[0] / 2], [0, focal, SIZE[1] / 2], [0, 0, 1]])
    # Turn the model the way head_pose reads it: yaw towards screen right, pitch up.
    ry = cv2.Rodrigues(np.array([0.0, math.radians(-yaw), 0.0]))[0]
    rx = cv2.Rodrigues(np.array([math.radians(-pitch), 0.0, 0.0]))[0]
    rvec = cv2.Rodrigues(rx @ ry)[0]
    tvec = np.array([[0.0], [0.0], [900.0]])
    points, _ = cv2.projectPoints(_MODEL, rvec, tvec, camera, np.zeros(4))
    out = base.copy()
    out[_MODEL_INDICES] = points.reshape(-1, 2)
    return out


def signals(frames: list[np.ndarray]) -> Signals:
    track = Track(size=SIZE, fps=25.0)
    track.landmarks.extend(frames)
    return Signals(track)


def test_pose_reached_reads_the_angles_the_head_was_turned_to(frontal) -> None:
    angles = [(0, 0)] * 5 + [(-8 * i, 0) for i in range(4)] + [(-24, 0)] * 4 + [(0, 12)] * 5
    s = signals([posed(frontal, y, p) for y, p in angles])
    reached = pose_reached(s)
    assert reached["yaw_min"] == pytest.approx(-24, abs=3)
    assert reached["pitch_max"] == pytest.approx(12, abs=3)
    assert abs(reached["yaw_max"]) < 3 and abs(reached["pitch_min"]) < 3


def test_pose_against_the_plan_counts_only_what_was_asked() -> None:
    reached = {"yaw_min": -15.0, "yaw_max": 1.0, "pitch_min": -2.0, "pitch_max": 9.0}
    asked = {"yaw_min": -20.0, "yaw_max": 1.0, "pitch_min": -1.0, "pitch_max": 10.0}
    assert pose_against(reached, asked) == {"yaw_min": 0.75, "pitch_max": 0.9}


def shut(points: np.ndarray, left: float, right: float) -> np.ndarray:
    """Landmarks with each eye's height scaled (screen-left eye 36-41 by `left`)."""
    out = points.copy()
    for ids, share in ((range(36, 42), left), (range(42, 48), right)):
        ids = list(ids)
        centre = out[ids, 1].mean()
        out[ids, 1] = centre + (out[ids, 1] - centre) * share
    return out


def test_blink_closure_is_the_deepest_share_of_the_open_eye(frontal) -> None:
    deepest = shut(frontal, 0.2, 0.9)
    frames = [frontal] * 20 + [shut(frontal, 0.5, 1.0), deepest] + [frontal] * 8
    closure = blink_closure(signals(frames))
    (open_r, open_l), (shut_r, shut_l) = eye_aspect_ratio(frontal), eye_aspect_ratio(deepest)
    assert closure["l"] == pytest.approx(shut_l / open_l, abs=1e-6)
    assert closure["r"] == pytest.approx(shut_r / open_r, abs=1e-6)
    assert closure["l"] < 0.35 < 0.85 < closure["r"]


def painted_mouth(frontal: np.ndarray, interior: tuple, lower_lip: tuple) -> tuple:
    """A skin-coloured face picture with red lips; its mouth opened onto `interior`."""
    image = np.full((SIZE[1], SIZE[0], 3), (205, 160, 140), np.uint8)
    points = frontal.copy()
    points[[65, 66, 67], 1] = points[[63, 62, 61], 1]  # lips shut in the photo
    lips = np.round(points[48:60]).astype(np.int32)
    cv2.fillPoly(image, [lips], (170, 70, 75))
    opened = points.copy()
    width = np.linalg.norm(points[54] - points[48])
    opened[[65, 66, 67], 1] += 0.25 * width
    opened[[55, 56, 57, 58, 59], 1] += 0.25 * width
    frame = np.full_like(image, (205, 160, 140))
    cv2.fillPoly(frame, [np.round(opened[48:60]).astype(np.int32)], (170, 70, 75))
    band = np.round(opened[[60, 67, 66, 65, 64, 55, 56, 57, 58, 59]]).astype(np.int32)
    cv2.fillPoly(frame, [band], lower_lip)
    cv2.fillPoly(frame, [np.round(opened[60:68]).astype(np.int32)], interior)
    return image, points, frame, opened


@pytest.mark.parametrize(
    ("interior", "lower_lip", "cast", "vanished"),
    [
        ((45, 18, 16), (170, 70, 75), False, False),  # dark, warm, lip kept
        ((95, 85, 110), (170, 70, 75), True, False),  # grey-violet
        ((70, 70, 70), (170, 70, 75), True, False),  # grey
        ((45, 18, 16), (45, 18, 16), False, True),  # the lower lip painted over
    ],
)
def test_the_mouth_meter_finds_casts_and_vanished_lips(
    frontal, interior: tuple, lower_lip: tuple, cast: bool, vanished: bool
) -> None:
    image, points, frame, opened = painted_mouth(frontal, interior, lower_lip)
    meter = MouthMeter(image, points)
    meter.add(frame, points)  # closed: not counted
    for _ in range(3):
        meter.add(frame, opened)
    result = meter.result()
    assert result["frames_open"] == 3
    assert result["cast"] is cast
    assert result["lower_lip_vanished"] is vanished


def test_a_video_whose_mouth_never_opens_has_no_verdict(frontal) -> None:
    image, points, frame, _ = painted_mouth(frontal, (45, 18, 16), (170, 70, 75))
    meter = MouthMeter(image, points)
    meter.add(frame, points)
    assert meter.result()["frames_open"] == 0 and meter.result()["cast"] is None


def _eyes_over_time(frontal: np.ndarray, shares: list[tuple[float, float]]) -> Signals:
    opened = [(1.0, 1.0)] * 20
    return signals([shut(frontal, a, b) for a, b in [*opened, *shares, *opened]])


def _found(s: Signals, word: str) -> bool:
    from subject2video.quality import RULES

    return RULES[word](s, set()).found


def test_a_wink_is_one_eye_shut_while_the_other_stays_open(frontal) -> None:
    s = _eyes_over_time(frontal, [(0.3, 0.97)] * 12)
    assert _found(s, "wink_left") != _found(s, "wink_right")
    mirrored = _eyes_over_time(frontal, [(0.97, 0.3)] * 12)
    assert _found(mirrored, "wink_left") != _found(mirrored, "wink_right")
    assert _found(s, "wink_left") == _found(mirrored, "wink_right")


def test_the_bottom_of_a_blink_is_no_wink_even_when_one_eye_reads_smaller(frontal) -> None:
    # Both eyes shut; at the bottom one reads 25% smaller than the other (landmark noise).
    blink = [(0.6, 0.55), (0.35, 0.27), (0.3, 0.22), (0.45, 0.4), (0.8, 0.8)]
    s = _eyes_over_time(frontal, blink)
    assert _found(s, "blink")
    assert not _found(s, "wink_left") and not _found(s, "wink_right")


def test_one_eye_shut_while_the_other_half_closes_is_no_wink(frontal) -> None:
    s = _eyes_over_time(frontal, [(0.3, 0.7)] * 12)
    assert not _found(s, "wink_left") and not _found(s, "wink_right")
