"""The OpenAI dialect's routes in the OpenAPI document: request bodies and answers.

Every error answer is OpenAI's envelope; the statuses are those of openai_wire.OPENAI_ERRORS plus
401 (no or unknown key).
"""

from __future__ import annotations

from typing import Any

from subject2video.api.openai.wire import IMAGE
from subject2video.contract import AUDIO, FRAMING, OPENAI, PROMPT, SECONDS, SEED, VOICE

_TEXT = {"type": "string"}
ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type", "param", "code"],
            "properties": {
                "message": _TEXT,
                "type": _TEXT,
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
        }
    },
}
_WHY = {
    400: "Invalid request: the error names the parameter",
    401: "No API key, or an unknown one",
    404: "No such video for this project",
    409: "The video is not in a state for this request (not completed yet)",
    413: "The body or the photo is too large",
    429: "Too many unfinished videos: retry after Retry-After seconds",
    500: "Server error",
    503: "Storage unavailable: retry after Retry-After seconds",
}
SECURITY = [{"bearer": []}]


def answers(ok: str, *codes: int, binary: bool = False) -> dict[str, Any]:
    content = {"application/octet-stream": {}} if binary else {"application/json": {}}
    out: dict[str, Any] = {"200": {"description": ok, "content": content}}
    for code in sorted({400, 401, 404, 413, 429, 500, 503, *codes}):
        out[str(code)] = {
            "description": _WHY[code],
            "content": {"application/json": {"schema": ERROR}},
        }
    return out


_CREATE_FIELDS: dict[str, Any] = {
    PROMPT.called(OPENAI): PROMPT.schema(),
    SEED.called(OPENAI): SEED.schema(),
    VOICE.called(OPENAI): VOICE.schema(),
    AUDIO.called(OPENAI): AUDIO.schema(),
    FRAMING.called(OPENAI): FRAMING.schema(),
    "model": _TEXT,
    "seconds": {"type": "string", "description": f"{SECONDS[0]}-{SECONDS[1]}"},
    "size": {"type": "string", "description": "WIDTHxHEIGHT, e.g. 1280x720"},
}
CREATE: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        **_CREATE_FIELDS,
                        IMAGE: {"type": "string", "format": "binary"},
                        # Extension: a voice recording as a file (README "Speech").
                        "audio": {"type": "string", "format": "binary"},
                    },
                }
            },
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        **_CREATE_FIELDS,
                        IMAGE: {
                            "type": "object",
                            "properties": {"image_url": _TEXT, "file_id": _TEXT},
                        },
                    },
                }
            },
        },
    },
    "responses": answers("The new Video object"),
    "security": SECURITY,
}
REMIX: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {PROMPT.called(OPENAI): PROMPT.schema()},
                }
            }
        },
    },
    "responses": answers("The new Video object"),
    "security": SECURITY,
}
READ: dict[str, Any] = {"responses": answers("The answer"), "security": SECURITY}
CONTENT: dict[str, Any] = {
    "responses": answers("The MP4, or a WebP or JPEG image", 409, binary=True),
    "security": SECURITY,
}
DELETE: dict[str, Any] = {"responses": answers("The deletion", 409), "security": SECURITY}
