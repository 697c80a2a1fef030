"""Tool/Detail: the model's description and parameter schema (names, types, defaults, limits)."""

from __future__ import annotations

from typing import Any

from subject2video import MODEL_OWNER, MODEL_PROJECT
from subject2video.config import Settings
from subject2video.engines.registry import available_engines
from subject2video.tasks.runner import DEFAULT_PROMPT, FPS, FRAMES
from subject2video.tasks.service import MAX_IMAGE_BYTES, MAX_PROMPT

DESCRIPTION = (
    "Generate 6s videos with an image. The person in the photo moves as the prompt asks while the "
    "background stays stable. Self-hosted by subject2video."
)


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
            "shortside": 720,
        },
        "parameters": [
            {
                "name": "inputImageFirstUrl",
                "label": "Subject Reference Image URL",
                "help": "The model will generate a video based on the subject uploaded through "
                "this parameter. Currently, only a human face accepted.",
                "type": "text",
                "required": True,
                "default": "",
                "alternatives": ["inputImageFirst (file upload)", "inputImageUrl"],
                "limits": {
                    "formats": ["jpeg", "png", "webp"],
                    "maxbytes": MAX_IMAGE_BYTES,
                    "minshortside": 300,
                    "aspect": ["2:5", "5:2"],
                    "maxpixels": 40_000_000,
                },
            },
            {
                "name": "prompt",
                "label": "prompt",
                "help": "The prompt to generate the video.",
                "type": "textarea",
                "required": False,
                "default": DEFAULT_PROMPT,
                "limits": {"maxlength": MAX_PROMPT},
            },
            {
                "name": "seed",
                "label": "seed",
                "help": "Optional integer: the same seed and inputs give the same video.",
                "type": "number",
                "required": False,
                "default": "",
            },
            {
                "name": "callbackUrl",
                "label": "callback URL",
                "help": "An http(s) URL that receives the task's Detail body when it ends.",
                "type": "text",
                "required": False,
                "default": "",
            },
        ],
    }
