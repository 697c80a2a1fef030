"""The portrait engine, judged by `quality`: each motion word found in its direction, its opposite
word the other way; identity kept; the background still; idle life for a prompt without motion.

Twelve videos (about 5 s each to make and measure on two cores) are shared by all tests here.
"""

from __future__ import annotations

import pytest

from subject2video.contract import DEFAULT_PROMPT
from subject2video.quality import RULES, Check
from tests.utils.portrait import report, signals

pytestmark = pytest.mark.slow

#: Prompts, each naming several motion words that do not get in each other's way.
VIDEOS = {
    "left": "She turns her head to the left and smiles as the camera pushes in",
    "right": "She turns her head to the right and frowns while the camera pulls out",
    "up": "She looks up and tilts her head to the left; the camera pans left",
    "down": "She looks down and tilts her head to the right; the camera pans right",
    "nod": "She nods and talks",
    "shake": "She shakes her head with her mouth closed, in a locked-off shot",
    "laugh": "She laughs and blinks",
    "surprise": "Surprised, she breathes deeply",
    "wink_l": "She winks with her left eye and sways",
    "wink_r": "She winks with her right eye, perfectly still, without blinking; holds her breath",
    "walk": "She walks towards the camera",
}

#: (word, video where it is named, video with its opposite or its absence).
WORDS = [
    ("turn_left", "left", "right"), ("turn_right", "right", "left"),
    ("smile", "left", "right"), ("frown", "right", "left"),
    ("push_in", "left", "right"), ("pull_out", "right", "left"),
    ("look_up", "up", "down"), ("look_down", "down", "up"),
    ("tilt_left", "up", "down"), ("tilt_right", "down", "up"),
    ("pan_left", "up", "down"), ("pan_right", "down", "up"),
    ("nod", "nod", "wink_r"), ("shake", "shake", "wink_r"),
    ("talk", "nod", "shake"), ("quiet", "shake", "nod"),
    ("laugh", "laugh", "shake"), ("blink", "laugh", "wink_r"), ("no_blink", "wink_r", "laugh"),
    ("wink_left", "wink_l", "wink_r"), ("wink_right", "wink_r", "wink_l"),
    ("surprise", "surprise", "wink_r"), ("breathe", "surprise", "wink_r"),
    ("hold_breath", "wink_r", "surprise"), ("sway", "wink_l", "wink_r"),
    ("still", "wink_r", "left"), ("walk", "walk", "wink_r"), ("static", "shake", "up"),
]  # fmt: skip


def measured(word: str, video: str) -> Check:
    """The check of `word` on `video`, whether or not that video's prompt names it."""
    result = report(VIDEOS[video])
    named = {c.kind: c for c in result.motions}
    if word in named:
        return named[word]
    return RULES[word](signals(VIDEOS[video]), set())


@pytest.mark.parametrize(("word", "named", "opposite"), WORDS, ids=[w for w, _, _ in WORDS])
def test_motion_word_found_and_its_opposite_not(word: str, named: str, opposite: str) -> None:
    found = measured(word, named)
    assert found.found, f"{word} not found in {VIDEOS[named]!r}: {found}"
    other = measured(word, opposite)
    assert not other.found, f"{word} also found in {VIDEOS[opposite]!r}: {other}"


@pytest.mark.parametrize("video", sorted(VIDEOS))
def test_identity_kept(video: str) -> None:
    result = report(VIDEOS[video])
    assert result.identity_max is not None and result.identity_max < 0.6, result
    assert result.identity_mean is not None and result.identity_mean < 0.35, result
    assert result.frames_tracked == 150


def test_identity_kept_on_every_frame() -> None:
    result = report(VIDEOS["laugh"], identity_step=1)
    assert result.identity_frames == 150
    assert result.identity_max is not None and result.identity_max < 0.6, result
    assert result.identity_mean is not None and result.identity_mean < 0.35, result


def test_static_camera_keeps_the_background_still() -> None:
    # Bound: 1.0 grey level, the mean absolute difference of the background against the first
    # frame after undoing any camera motion, on the worst frame. Identical backgrounds read 0.0;
    # moving half of this background by one pixel (a jitter a viewer sees) reads 1.2.
    result = report(VIDEOS["shake"])
    assert result.camera_zoom < 0.005 and result.camera_shift < 1.0, result
    assert result.background_max is not None and result.background_max < 1.0, result


def test_default_prompt_blinks_and_moves_gently() -> None:
    result = report(DEFAULT_PROMPT)
    assert result.blinks >= 1, result
    assert 0.03 < result.motion_max < 0.4, result
