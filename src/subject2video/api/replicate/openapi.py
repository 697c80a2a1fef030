"""The Replicate dialect's OpenAPI fragment: its operations' request bodies and answers."""

from __future__ import annotations

from typing import Any

from subject2video import contract
from subject2video.api.replicate.models import (
    DURATION,
    EVENTS_FILTER,
    FIRST_FRAME,
    OPTIMIZER,
    PROMPT,
    RESOLUTION,
    SEED,
    SUBJECT,
    WEBHOOK,
    WEBHOOK_COMPLETED,
)
from subject2video.api.replicate.request import EVENTS

_TEXT = {"type": "string"}
ERROR: dict[str, Any] = {
    "type": "object",
    "description": "Replicate's error body (RFC 7807 problem details)",
    "properties": {
        "title": {"type": "string"},
        "detail": {"type": "string"},
        "status": {"type": "integer"},
        "invalid_fields": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["title", "detail", "status"],
}
_ERRORS = {
    str(code): {
        "description": why,
        "content": {"application/json": {"schema": ERROR}},
    }
    for code, why in (
        (400, "The body or a header cannot be read"),
        (401, "No Bearer key, or an unknown one"),
        (404, "No such prediction, model, version or file for this project"),
        (409, "The prediction is in the wrong state"),
        (413, "The body is too large"),
        (422, "An input is wrong: `invalid_fields` names it as Replicate spells it"),
        (429, "The project's limit on unfinished predictions, with Retry-After"),
    )
}
SECURITY = [{"bearer": []}]
PREDICTION: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "model": {"type": "string", "example": "minimax/video-01"},
        "version": {"type": "string"},
        "input": {"type": "object"},
        "logs": {"type": "string", "description": "log lines, then a tqdm progress line"},
        "output": {"type": "string", "format": "uri", "nullable": True},
        "error": {"type": "string", "nullable": True},
        "status": {
            "type": "string",
            "enum": ["starting", "processing", "succeeded", "failed", "canceled"],
        },
        "created_at": {"type": "string"},
        "started_at": {"type": "string", "nullable": True},
        "completed_at": {"type": "string", "nullable": True},
        "urls": {
            "type": "object",
            "properties": {k: {"type": "string"} for k in ("get", "cancel", "web")},
        },
        "metrics": {"type": "object", "properties": {"predict_time": {"type": "number"}}},
    },
}
_PHOTO = "http(s) URL, data URI, or the urls.get of a file uploaded to /v1/files"
CREATE: dict[str, Any] = {
    "parameters": [
        {
            "name": "Prefer",
            "in": "header",
            "schema": {"type": "string", "example": "wait=30"},
            "description": "`wait` or `wait=N` (1-60): answer once the prediction ends or N s pass",
        }
    ],
    "requestBody": {
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["input"],
                    "properties": {
                        "version": {"type": "string", "description": "POST /v1/predictions only"},
                        "input": {
                            "type": "object",
                            "properties": {
                                PROMPT: contract.PROMPT.schema(),
                                SUBJECT: {"type": "string", "description": _PHOTO},
                                FIRST_FRAME: {"type": "string", "description": _PHOTO},
                                OPTIMIZER: contract.OPTIMIZER.schema(),
                                DURATION: {"type": "integer", "enum": [6, 10]},
                                RESOLUTION: {"type": "string", "enum": ["512p", "768p", "1080p"]},
                                SEED: contract.SEED.schema(),
                            },
                        },
                        WEBHOOK: {"type": "string"},
                        WEBHOOK_COMPLETED: {"type": "string"},
                        EVENTS_FILTER: {
                            "type": "array",
                            "items": {"type": "string", "enum": list(EVENTS)},
                        },
                    },
                }
            }
        }
    },
    "responses": {
        "201": {
            "description": "The prediction",
            "content": {"application/json": {"schema": PREDICTION}},
        },
        **_ERRORS,
    },
    "security": SECURITY,
}
READ: dict[str, Any] = {"responses": _ERRORS, "security": SECURITY}
LIST: dict[str, Any] = {"responses": _ERRORS, "security": SECURITY}
DELETE: dict[str, Any] = {
    "responses": {"204": {"description": "Deleted"}, **_ERRORS},
    "security": SECURITY,
}
FILE_CREATE: dict[str, Any] = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["content"],
                    "properties": {
                        "content": {"type": "string", "format": "binary"},
                        "filename": {"type": "string"},
                        "type": {"type": "string"},
                        "metadata": {"type": "string", "description": "a JSON object"},
                    },
                }
            }
        }
    },
    "responses": {"201": {"description": "The file object"}, **_ERRORS},
    "security": SECURITY,
}
