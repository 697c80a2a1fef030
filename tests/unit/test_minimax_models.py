"""MiniMax's image-to-video models: what each allows; MiniMax's refusals (2013, the parameter)."""

from __future__ import annotations

from typing import Any

import pytest

from subject2video.api.minimax import routes as minimax
from subject2video.api.minimax.routes import Code, MinimaxError

IMAGE = "https://example.com/face.jpg"


def parse(body: dict[str, Any]) -> tuple[dict[str, Any], str, Any]:
    return minimax.parse_request({"prompt": "she smiles", "first_frame_image": IMAGE, **body})


@pytest.mark.parametrize(
    ("body", "seconds", "short_side"),
    [
        ({"model": "I2V-01"}, 6, 720),
        ({"model": "I2V-01-Director", "duration": 6}, 6, 720),
        ({"model": "i2v-01-live", "resolution": "720P"}, 6, 720),
        ({"model": "MiniMax-Hailuo-02"}, 6, 768),
        ({"model": "MiniMax-Hailuo-02", "duration": 10, "resolution": "768P"}, 10, 768),
        ({"model": "MiniMax-Hailuo-02", "duration": 10, "resolution": "512P"}, 10, 512),
        ({"model": "MiniMax-Hailuo-02", "duration": 6, "resolution": "1080P"}, 6, 1080),
        ({"model": "MiniMax-Hailuo-2.3", "resolution": "1080p"}, 6, 1080),
        ({"model": "MiniMax-Hailuo-2.3-Fast", "duration": 10}, 10, 768),
    ],
)
def test_allowed_combinations(body: dict[str, Any], seconds: int, short_side: int) -> None:
    fields, image, wanted = parse(body)
    assert image == IMAGE and fields == {"prompt": "she smiles"}
    assert (wanted.seconds, wanted.short_side) == (seconds, short_side)


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ({"model": "MiniMax-Hailuo-02", "duration": 10, "resolution": "1080P"}, "resolution"),
        ({"model": "MiniMax-Hailuo-2.3", "resolution": "512P"}, "resolution"),
        ({"model": "I2V-01", "duration": 10}, "duration"),
        ({"model": "I2V-01", "resolution": "1080P"}, "resolution"),
        ({"model": "MiniMax-Hailuo-02", "duration": "6"}, "duration"),
        ({"model": "MiniMax-Hailuo-02", "duration": 8}, "duration"),
        ({"model": "MiniMax-Hailuo-02", "resolution": 768}, "resolution"),
        ({"model": "I2V-01", "first_frame_image": None}, "first_frame_image"),
        ({"model": "I2V-01", "first_frame_image": ["x"]}, "first_frame_image"),
        ({"model": "Sora-2"}, "served models"),
    ],
)
def test_refusals_are_2013_and_name_the_parameter(body: dict[str, Any], names: str) -> None:
    with pytest.raises(MinimaxError) as raised:
        parse(body)
    assert raised.value.code == Code.invalid_params
    assert names in raised.value.message and raised.value.message.startswith("invalid params, ")


@pytest.mark.parametrize(
    "body",
    [
        {"model": "T2V-01"},
        {"model": "T2V-01-Director"},
        {"model": "MiniMax-Hailuo-02", "first_frame_image": None},
        {"model": "MiniMax-Hailuo-2.3", "first_frame_image": ""},
    ],
)
def test_text_to_video_says_this_server_animates_a_photo(body: dict[str, Any]) -> None:
    with pytest.raises(MinimaxError) as raised:
        parse(body)
    assert raised.value.code == Code.invalid_params
    assert "animates a person's photo" in raised.value.message


def test_subject_model_is_unchanged() -> None:
    body = {
        "model": "S2V-01",
        "prompt": "smile",
        "duration": 10,  # ignored, as before
        "subject_reference": [{"type": "character", "image": [IMAGE]}],
    }
    fields, image, wanted = minimax.parse_request(body)
    assert (fields, image) == ({"prompt": "smile"}, IMAGE)
    assert (wanted.seconds, wanted.short_side) == (6, 720)
