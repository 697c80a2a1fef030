"""The contract's lengths and sizes: what a dialect may ask for, stored and read back."""

from __future__ import annotations

from typing import Any

import pytest

from subject2video.contract import (
    FPS,
    RunInput,
    check_short_side,
    parse_seconds,
    parse_size,
)
from subject2video.errors import InputError


@pytest.mark.parametrize(("value", "seconds"), [("4", 4), (8, 8), (10.0, 10), (" 12 ", 12), (2, 2)])
def test_lengths_in_range(value: Any, seconds: int) -> None:
    assert parse_seconds(value, "seconds") == seconds


@pytest.mark.parametrize("value", [1, 13, "abc", "4.5", None, True, -4, "1e1"])
def test_lengths_out_of_range_name_the_parameter(value: Any) -> None:
    with pytest.raises(InputError) as raised:
        parse_seconds(value, "duration")
    assert raised.value.parameter == "duration" and "[duration]" in raised.value.message


@pytest.mark.parametrize(
    ("value", "size"),
    [("1280x720", (1280, 720)), ("720X1280", (720, 1280)), ("1920x1080", (1920, 1080))],
)
def test_sizes(value: str, size: tuple[int, int]) -> None:
    assert parse_size(value, "size") == size


@pytest.mark.parametrize(
    "value", ["1281x720", "640x360", "2560x1440", "1792x480", "big", "", "1280x", "1280x720x3"]
)
def test_sizes_refused_say_why(value: str) -> None:
    with pytest.raises(InputError) as raised:
        parse_size(value, "size")
    assert raised.value.parameter == "size" and "[size]" in raised.value.message


@pytest.mark.parametrize("short", [478, 481, 1082])
def test_short_sides_refused(short: int) -> None:
    with pytest.raises(InputError):
        check_short_side(short, "resolution")


def test_output_survives_the_store() -> None:
    run = RunInput(image_url="https://e/a.jpg").with_output(
        seconds=10, size=(1280, 720), model="s2v-portrait", remix_of=7
    )
    assert run.frames == 10 * FPS and run.short_side == 720
    back = RunInput.from_parameters(run.parameters())
    assert back == run


def test_wiro_run_is_unchanged() -> None:
    run = RunInput(image_url="https://e/a.jpg")
    assert (run.frames, run.short_side, run.size) == (150, 720, None)
    assert run.parameters() == {"inputImageFirstUrl": "https://e/a.jpg"}


def test_following_the_speech_survives_the_store_and_gives_the_length_made() -> None:
    """A dialect's caller gave no length: the flag is stored; the runner then stores the frames
    the speech took, and `length` reports them (the wire's `seconds`)."""
    run = RunInput(image_url="https://e/a.jpg").with_output(seconds=4, follow_speech=True)
    assert run.length == 4.0 and run.parameters()["followSpeech"] is True
    made = {**run.parameters(), "frames": 131}
    back = RunInput.from_parameters(made)
    assert back.follow_speech and back.made_frames == 131
    assert back.length == pytest.approx(131 / FPS)
    assert not RunInput.from_parameters(
        RunInput(image_url="https://e/a.jpg").parameters()
    ).follow_speech
