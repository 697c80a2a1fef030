"""MiniMax's models on /v1/video_generation: which are served, and what each allows.

| model                    | image input         | duration (s) | resolution                     |
|--------------------------|---------------------|--------------|--------------------------------|
| S2V-01                   | subject_reference   | 6            | 720P (the photo's aspect)      |
| I2V-01, I2V-01-Director, | first_frame_image   | 6            | 720P                           |
| I2V-01-live              |                     |              |                                |
| MiniMax-Hailuo-02        | first_frame_image   | 6, 10        | 512P, 768P (default), 1080P    |
| MiniMax-Hailuo-2.3,      | first_frame_image   | 6, 10        | 768P (default), 1080P          |
| MiniMax-Hailuo-2.3-Fast  |                     |              |                                |

As MiniMax documents it: 10 s only below 1080P; a resolution is the output's short side (the video
keeps the first frame's aspect). Text-to-video (T2V-01, T2V-01-Director, or a Hailuo model called
without first_frame_image) is refused with 2013: this server animates a person's photo. Bracketed
camera instructions in the prompt (`[Pan left]`, `[Push in]`, … see prompts.DIRECTIVES) are read
by the motion plan for every model, as MiniMax reads them for the Director and Hailuo models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from subject2video.contract import (
    CALLBACK,
    DEFAULT_SECONDS,
    IMAGE,
    MINIMAX,
    OPTIMIZER,
    SHORT_SIDE,
    SUBJECT_IMAGE,
)

#: The subject model the MiniMax dialect served first.
SUBJECT_MODEL = "S2V-01"
FIRST_FRAME_PARAM = IMAGE.called(MINIMAX)
#: S2V-01's image: `[{"type": "character", "image": [url]}]`.
SUBJECT_PARAM = SUBJECT_IMAGE.called(MINIMAX)
#: The callback URL, as MiniMax names it.
CALLBACK_PARAM = CALLBACK.called(MINIMAX)
#: Accepted and ignored.
OPTIMIZER_PARAM = OPTIMIZER.called(MINIMAX)


@dataclass(frozen=True)
class Model:
    """One MiniMax model name we serve, and the durations and resolutions MiniMax allows for it."""

    name: str
    #: duration (s) -> the resolutions allowed at it; the first of `resolutions` is the default.
    durations: dict[int, tuple[str, ...]]
    resolutions: tuple[str, ...]
    image_param: str = FIRST_FRAME_PARAM

    @property
    def default_resolution(self) -> str:
        return self.resolutions[0]


_I2V_01 = {6: ("720P",)}
_HAILUO_02 = {6: ("768P", "512P", "1080P"), 10: ("768P", "512P")}
_HAILUO_23 = {6: ("768P", "1080P"), 10: ("768P",)}

MODELS: dict[str, Model] = {
    m.name.lower(): m
    for m in (
        Model(SUBJECT_MODEL, {6: ("720P",)}, ("720P",), image_param=SUBJECT_PARAM),
        Model("I2V-01", _I2V_01, ("720P",)),
        Model("I2V-01-Director", _I2V_01, ("720P",)),
        Model("I2V-01-live", _I2V_01, ("720P",)),
        Model("MiniMax-Hailuo-02", _HAILUO_02, ("768P", "512P", "1080P")),
        Model("MiniMax-Hailuo-2.3", _HAILUO_23, ("768P", "1080P")),
        Model("MiniMax-Hailuo-2.3-Fast", _HAILUO_23, ("768P", "1080P")),
    )
}
#: Models MiniMax serves that make video from text alone: refused with a message that says why.
TEXT_MODELS = ("T2V-01", "T2V-01-Director")
SERVED = ", ".join(m.name for m in MODELS.values())


class Refused(ValueError):
    """A request MiniMax would refuse: the message names the parameter (answered 2013)."""


@dataclass(frozen=True)
class Wanted:
    """What a request asks of the video: its length and short side."""

    model: Model
    seconds: int = DEFAULT_SECONDS
    short_side: int = SHORT_SIDE
    #: No `duration` given: a spoken video lasts as long as its speech (a silent one `seconds`).
    follow: bool = False


def model_for(name: Any) -> Model:
    """The served model a request names, or Refused with the models we serve."""
    if not isinstance(name, str) or not name.strip():
        raise Refused("model is required")
    model = MODELS.get(name.strip().lower())
    if model is not None:
        return model
    if name.strip().upper() in (t.upper() for t in TEXT_MODELS):
        raise Refused(
            f"model {name.strip()!r} makes video from text alone; this server animates a "
            f"person's photo: use an image-to-video model ({SERVED}) with {FIRST_FRAME_PARAM}"
        )
    raise Refused(f"model {name.strip()!r} is not served here; served models: {SERVED}")


def output_for(model: Model, data: dict[str, Any]) -> Wanted:
    """The duration and resolution a request asks for, checked as MiniMax checks them."""
    if model.name == SUBJECT_MODEL:
        # S2V-01 stays as it was: 6 s, short side 720, or the speech's length.
        return Wanted(model, follow=data.get("duration") is None)
    duration = data.get("duration")
    if duration is None:
        seconds = DEFAULT_SECONDS
    elif isinstance(duration, int) and not isinstance(duration, bool):
        seconds = duration
    else:
        raise Refused(f"duration must be an integer number of seconds, got {duration!r}")
    if seconds not in model.durations:
        allowed = " or ".join(str(d) for d in model.durations)
        raise Refused(f"duration {seconds} is not supported by {model.name}; use {allowed}")
    resolution = data.get("resolution")
    if resolution is None:
        resolution = model.default_resolution
    if not isinstance(resolution, str) or resolution.strip().upper() not in model.resolutions:
        allowed = ", ".join(model.resolutions)
        raise Refused(f"resolution {resolution!r} is not supported by {model.name}; use {allowed}")
    resolution = resolution.strip().upper()
    if resolution not in model.durations[seconds]:
        at = ", ".join(model.durations[seconds])
        raise Refused(
            f"resolution {resolution} is not supported with duration {seconds} for "
            f"{model.name}; at {seconds} s use {at}"
        )
    side = int(resolution.removesuffix("P"))
    return Wanted(model, seconds=seconds, short_side=side, follow=duration is None)
