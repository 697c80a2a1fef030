"""The prompt reader and the motion plan: pure and fast."""

from __future__ import annotations

import numpy as np
import pytest

from subject2video.contract import DEFAULT_PROMPT
from subject2video.engines.portrait.plan import plan_motion
from subject2video.prompts import read_prompt


def kinds(prompt: str) -> list[str]:
    return [m.kind for m in read_prompt(prompt)]


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("She smiles and slowly turns her head to the left while the camera pushes in",
         ["smile", "turn_left", "push_in"]),
        ("he looks up, then looks down", ["look_up", "look_down"]),
        ("turns her head left and then to the right", ["turn_left", "turn_right"]),
        ("tilts her head to the right", ["tilt_right"]),
        ("nods; shakes his head", ["nod", "shake"]),
        ("blinks and winks with the left eye", ["blink", "wink_left"]),
        ("laughs, talks, then looks surprised", ["laugh", "talk", "surprise"]),
        ("breathes slowly and sways", ["breathe", "sway"]),
        ("walks down the street", ["walk"]),
        ("the camera zooms out", ["pull_out"]),
        ("the camera pans right", ["pan_right"]),
        ("a static camera; she speaks", ["static", "talk"]),
        ("a locked-off shot of a woman", ["static"]),
        ("she frowns", ["frown"]),
        ("looks at the camera", []),
    ],
)  # fmt: skip
def test_reads_motion_words(prompt: str, expected: list[str]) -> None:
    assert kinds(prompt) == expected


def test_modifiers_apply_to_their_own_clause() -> None:
    motions = {m.kind: m for m in read_prompt("She quickly smiles and slowly turns left")}
    assert motions["smile"].slowness < 1 < motions["turn_left"].slowness
    dramatic = read_prompt("creating long, dramatic shadows; she turns left")
    assert dramatic[0].intensity == 1.0
    assert read_prompt("gently, she turns left")[0].intensity < 1
    assert read_prompt("she turns left dramatically")[0].intensity > 1


def test_default_prompt_reads_a_walk_and_leaves_the_fronds_sway_to_the_fronds() -> None:
    # "their fronds swaying gently against a clear blue sky": the palm trees sway, not her.
    assert kinds(DEFAULT_PROMPT) == ["walk"]


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("palm trees sway in the wind while she smiles", ["smile"]),
        ("Her hair sways as she turns left", ["turn_left"]),
        ("the leaves gently swaying, she nods", ["nod"]),
        ("trees that gently sway and she laughs", ["laugh"]),
        ("She sways gently", ["sway"]),
        ("A woman swaying to music", ["sway"]),
        ("She gives a light smile", ["smile"]),
        ("He walks down the street and turns right", ["walk", "turn_right"]),
    ],
)
def test_a_motion_whose_subject_is_a_thing_of_the_scene_is_not_the_persons(
    prompt: str, expected: list[str]
) -> None:
    assert kinds(prompt) == expected


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("He looks down and then turns his head to the right", [0, 1]),
        ("He raises his eyebrows in surprise, then smiles", [0, 1]),
        ("laughs, talks, then looks surprised", [0, 0, 1]),
        ("She smiles. Afterwards she turns left", [0, 1]),
        ("She smiles and after that she winks", [0, 1]),
        ("After a moment she nods; finally she laughs", [0, 1]),
        ("He nods before he smiles", [0, 1]),
        ("She looks down, then looks up and smiles", [0, 1, 1]),
        # "After" before an event: that event first, whichever side of it the other is.
        ("She turns left after she smiles", [1, 0]),
        ("After she smiles, she turns her head to the left", [0, 1]),
        ("She smiles and nods after looking up", [1, 1, 0]),
        ("She turns left after she smiles, then laughs", [1, 0, 2]),
        # Run together: one clause, "while", "as"; "after" before no motion orders nothing.
        ("She smiles and slowly turns her head to the left while the camera pushes in",
         [0, 0, 0]),
        ("She turns left as the camera pans right", [0, 0]),
        ("She smiles after the music starts", [0]),
        # "then" before any motion, or between modifiers, orders nothing.
        ("Then she smiles and nods", [0, 0]),
        ("Slowly, then quickly, she turns left", [0]),
    ],
)  # fmt: skip
def test_then_and_its_like_put_the_motions_in_sequence(prompt: str, expected: list[int]) -> None:
    assert [m.stage for m in read_prompt(prompt)] == expected


def test_a_sequence_plays_its_stages_one_after_the_other() -> None:
    fps, frames = 25, 150
    t = np.arange(frames) / fps
    plan = plan_motion("He looks down and then turns his head to the right", 0, frames, fps)
    pitch, yaw = plan.curves["pitch"], plan.curves["yaw"]
    # The look down is made in the first half, in full (not a diagonal's share), before the
    # turn starts; the turn in the second half, to a plain turn's reach.
    assert pitch[t < 3.0].min() < -11
    assert np.abs(yaw[(t > 1.7) & (t < 3.0)]).max() < 3
    assert yaw[-1] > 15
    assert "in sequence: look_down; then turn_right" in plan.describe()
    together = plan_motion("He looks down and turns his head to the right", 0, frames, fps)
    assert together.curves["pitch"].min() > -11  # a diagonal: each of the two a little less
    moving = np.flatnonzero(np.abs(np.gradient(together.curves["yaw"])) > 0.2)
    assert t[moving[0]] < 1.0  # both from the start
    surprise = plan_motion("He raises his eyebrows in surprise, then smiles", 0, frames, fps)
    smile = surprise.curves["smile"]
    assert surprise.curves["brows"][t < 3.0].max() > 0.5 and smile[t < 3.0].max() < 0.05
    assert smile[-1] > 0.9
    # "After" the other way round: the smile named last is made first.
    after = plan_motion("She turns her head to the right after she smiles", 0, frames, fps)
    assert after.curves["smile"][t < 3.0].max() > 0.9
    assert np.abs(after.curves["yaw"][t < 2.7]).max() < 3 and after.curves["yaw"][-1] > 15
    assert "in sequence: smile; then turn_right" in after.describe()


def test_plan_is_seeded_and_directional() -> None:
    a = plan_motion("turns her head to the left and smiles", seed=1)
    b = plan_motion("turns her head to the left and smiles", seed=1)
    c = plan_motion("turns her head to the left and smiles", seed=2)
    for name in a.curves:
        np.testing.assert_array_equal(a.curves[name], b.curves[name])
    assert any(not np.array_equal(a.curves[n], c.curves[n]) for n in a.curves)
    assert a.curves["yaw"][-1] < -10 and a.curves["smile"][-1] > 0.9
    right = plan_motion("turns her head to the right", seed=1)
    assert right.curves["yaw"][-1] > 10


def test_every_plan_has_idle_life() -> None:
    plan = plan_motion("a portrait of a woman", seed=3)
    blink = np.minimum(plan.curves["blink_l"], plan.curves["blink_r"])
    assert blink.max() > 0.99  # at least one full blink
    assert np.ptp(plan.curves["breath"]) > 1.5
    assert 0.5 < np.ptp(plan.curves["yaw"]) < 6
    assert "idle blinks" in plan.describe()
    still = plan_motion("perfectly still, without blinking", seed=3)
    assert still.curves["blink_l"].max() == 0 and np.ptp(still.curves["yaw"]) < 1
