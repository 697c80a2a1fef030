"""The MiniMax dialect's OpenAPI fragment: its answers, its security and its request body."""

from __future__ import annotations

from typing import Any

from subject2video.api.minimax.models import (
    CALLBACK_PARAM,
    FIRST_FRAME_PARAM,
    OPTIMIZER_PARAM,
    SUBJECT_PARAM,
)
from subject2video.contract import AUDIO, MINIMAX, OPTIMIZER, PROMPT, VOICE

_TEXT = {"type": "string"}

#: MiniMax's answers: always HTTP 200 with `base_resp`.
MINIMAX_ANSWER: dict[str, Any] = {
    "200": {
        "description": "An answer in MiniMax's words; base_resp.status_code 0 is success",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["base_resp"],
                    "properties": {
                        "base_resp": {
                            "type": "object",
                            "required": ["status_code", "status_msg"],
                            "properties": {
                                "status_code": {"type": "integer"},
                                "status_msg": {"type": "string"},
                            },
                        }
                    },
                }
            }
        },
    }
}
MINIMAX_SECURITY = [{"bearer": []}]
MINIMAX_GENERATION: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "model": {
                            "type": "string",
                            "enum": [
                                "S2V-01",
                                "I2V-01",
                                "I2V-01-Director",
                                "I2V-01-live",
                                "MiniMax-Hailuo-02",
                                "MiniMax-Hailuo-2.3",
                                "MiniMax-Hailuo-2.3-Fast",
                            ],
                        },
                        PROMPT.called(MINIMAX): PROMPT.schema(),
                        FIRST_FRAME_PARAM: _TEXT,
                        "duration": {"type": "integer", "enum": [6, 10]},
                        "resolution": {"type": "string", "enum": ["512P", "720P", "768P", "1080P"]},
                        CALLBACK_PARAM: _TEXT,
                        OPTIMIZER_PARAM: OPTIMIZER.schema(),
                        VOICE.called(MINIMAX): VOICE.schema(),
                        AUDIO.called(MINIMAX): AUDIO.schema(),
                        SUBJECT_PARAM: {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "type": {"type": "string", "enum": ["character"]},
                                    "image": {"type": "array", "items": _TEXT},
                                },
                            },
                        },
                    },
                }
            }
        },
    },
    "responses": MINIMAX_ANSWER,
    "security": MINIMAX_SECURITY,
}
MINIMAX_READ: dict[str, Any] = {"responses": MINIMAX_ANSWER, "security": MINIMAX_SECURITY}
