"""Motion plans over other lengths, and MiniMax's bracketed camera instructions."""

from __future__ import annotations

import numpy as np
import pytest

from subject2video.engines.portrait.plan import plan_motion
from subject2video.engines.portrait.render import camera_matrix
from subject2video.prompts import DIRECTIVES, read_prompt

FPS = 25


def _reached(curve: np.ndarray, fraction: float = 0.9) -> float:
    """Seconds until a curve first reaches `fraction` of its final value."""
    target = curve[-1]
    return float(np.argmax(np.abs(curve) >= fraction * abs(target)) / FPS)


@pytest.mark.parametrize("seconds", [4, 8, 10, 12])
def test_a_longer_video_is_not_a_stretched_six_seconds(seconds: int) -> None:
    six = plan_motion("she turns her head to the left", 3, 6 * FPS, FPS)
    other = plan_motion("she turns her head to the left", 3, seconds * FPS, FPS)
    assert other.frames == seconds * FPS and len(other.curves["yaw"]) == seconds * FPS
    # The turn takes as long in seconds (within its window), not `seconds / 6` times as long.
    assert abs(_reached(other.curves["yaw"]) - _reached(six.curves["yaw"])) < 0.5
    # Idle life goes on: about one blink every three seconds, whatever the length.
    blinks = int(np.sum(np.diff((other.curves["blink_l"] > 0.5).astype(int)) == 1))
    assert seconds / 4.5 <= blinks <= seconds / 2 + 1


@pytest.mark.parametrize(
    ("directive", "channel", "sign"),
    [
        ("[Pan left]", "pan", -1),
        ("[Pan right]", "pan", 1),
        ("[Truck left]", "pan", -1),
        ("[Truck right]", "pan", 1),
        ("[Pedestal up]", "lift", -1),
        ("[Pedestal down]", "lift", 1),
        ("[Tilt up]", "lift", -1),
        ("[Tilt down]", "lift", 1),
        ("[Push in]", "zoom", 1),
        ("[Zoom in]", "zoom", 1),
        ("[Pull out]", "zoom", -1),
        ("[Zoom out]", "zoom", -1),
        ("[左摇]", "pan", -1),
        ("[上升]", "lift", -1),
    ],
)
def test_each_camera_move_goes_its_way(directive: str, channel: str, sign: int) -> None:
    plan = plan_motion(f"{directive} a woman looks at the camera", 5, 6 * FPS, FPS)
    curve = plan.curves[channel]
    assert sign * (curve[-1] - curve[0]) > 0.02, (directive, curve[0], curve[-1])
    assert plan.camera_moves


def test_shake_tracking_and_static() -> None:
    shake = plan_motion("[Shake] she smiles", 5, 6 * FPS, FPS).curves
    assert np.std(np.diff(shake["pan"])) > 1e-3 and np.std(np.diff(shake["lift"])) > 1e-3
    tracking = plan_motion("[Tracking shot] she sways gently", 5, 6 * FPS, FPS).curves
    assert np.std(tracking["pan"]) > 1e-3 and tracking["zoom"][-1] > tracking["zoom"][0]
    static = plan_motion("[Static shot] she smiles", 5, 6 * FPS, FPS)
    assert not static.camera_moves


def test_brackets_take_turns_and_a_bracket_runs_together() -> None:
    plan = plan_motion("[Pan left, Pedestal up] she smiles [Push in]", 5, 6 * FPS, FPS)
    assert [m.kind for m in plan.motions][:3] == ["pan_left", "pedestal_up", "push_in"]
    pan, lift, zoom = plan.curves["pan"], plan.curves["lift"], plan.curves["zoom"]
    half = 3 * FPS
    # The pan and the pedestal move in the first half; the push-in in the second.
    assert abs(pan[half] - pan[0]) > 0.05 and abs(lift[half] - lift[0]) > 0.04
    assert abs(zoom[half] - zoom[0]) < 1e-6 and zoom[-1] > zoom[half] + 0.04


def test_every_directive_is_read_and_none_is_read_as_a_head_motion() -> None:
    for name, kind in DIRECTIVES.items():
        kinds = [m.kind for m in read_prompt(f"[{name}] a woman in a garden")]
        assert kinds == [kind], name
    assert [m.kind for m in read_prompt("[Tilt down]")] == ["cam_tilt_down"]  # not a head tilt


def test_lift_moves_the_view() -> None:
    up = camera_matrix((720, 1280), (360, 640), 1.2, 0.0, -0.05)
    down = camera_matrix((720, 1280), (360, 640), 1.2, 0.0, 0.05)
    assert up is not None and down is not None
    # The view going up shows what was higher: the picture moves down in the frame.
    assert up[1, 2] > down[1, 2]
