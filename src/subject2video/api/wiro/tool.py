"""Tool/Detail: the model's description and parameter schema (names, types, defaults, limits)."""

from __future__ import annotations

from typing import Any

from subject2video.config import Settings
from subject2video.contract import (
    FPS,
    FRAMES,
    MAX_LONG_SIDE,
    MODEL_OWNER,
    MODEL_PROJECT,
    PARAMETERS,
    SECONDS,
    SHORT_SIDE,
    SHORT_SIDES,
    Param,
    limits_text,
)
from subject2video.engines.registry import available_engines

DESCRIPTION = (
    "Generate 6s videos with an image. The person in the photo moves as the prompt asks while the "
    "background stays stable. Self-hosted by subject2video."
)


def parameter_detail(param: Param) -> dict[str, Any]:
    """One parameter as Tool/Detail lists it."""
    detail: dict[str, Any] = {
        "name": param.name,
        "label": param.label,
        "help": param.help,
        "type": param.type,
        "required": param.required,
        "default": param.default,
    }
    if param.alternatives:
        detail["alternatives"] = list(param.alternatives)
    if param.limits:
        detail["limits"] = dict(param.limits)
    return detail


def tool_detail(settings: Settings) -> dict[str, Any]:
    return {
        "slugowner": MODEL_OWNER,
        "slugproject": MODEL_PROJECT,
        "title": "Hailuo subject reference image-to-video (self-hosted)",
        "description": DESCRIPTION,
        "categories": ["tool", "image-to-video"],
        "engine": settings.engine,
        "engines": available_engines(),
        "output": {
            "contenttype": "video/mp4",
            "fps": FPS,
            "frames": FRAMES,
            "duration": FRAMES / FPS,
            "shortside": SHORT_SIDE,
            # Run is fixed at the above; the MiniMax and OpenAI dialects may ask within these.
            "dialects": {
                "seconds": list(SECONDS),
                "shortside": list(SHORT_SIDES),
                "maxlongside": MAX_LONG_SIDE,
                "limits": limits_text(),
            },
        },
        "parameters": [parameter_detail(p) for p in PARAMETERS],
    }
