"""OpenAPI descriptions of the routes' real bodies, answers and auth headers.

Routes read their bodies leniently (api/body.py) and authorize without FastAPI dependencies (a
hot-path choice, api/deps.py), so FastAPI cannot infer what they take. These `openapi_extra`
fragments say it instead: documentation only, no runtime cost. The fuzzing tests
(tests/security/test_fuzz_api.py) read this document to reach the handlers.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from subject2video.contract import (
    AUDIO,
    AUDIO_UPLOAD_PARAM,
    CALLBACK,
    IMAGE,
    IMAGE_URL_ALIAS,
    PROMPT,
    SEED,
    UPLOAD_PARAM,
    Param,
)

#: The Wiro envelope: every JSON answer of a Wiro route has these.
ENVELOPE: dict[str, Any] = {
    "type": "object",
    "required": ["result", "errors"],
    "properties": {
        "result": {"type": "boolean"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
            },
        },
    },
}

_WHY = {
    200: "Success",
    400: "Validation error (code 0)",
    401: "Authentication failed (code 0)",
    404: "Not found (code 1)",
    409: "Wrong state (code 1)",
    413: "Request body too large (code 0)",
    429: "Per-project concurrency limit (code 96), with Retry-After",
    500: "Server fault, with a message and never a stack trace",
}
#: Status codes every authenticated Wiro route may answer.
COMMON = (200, 400, 401, 404, 413, 500)
SECURITY = [{"apiKey": []}, {"apiKey": [], "nonce": [], "signature": []}]
SECURITY_SCHEMES: dict[str, Any] = {
    "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
    "nonce": {"type": "apiKey", "in": "header", "name": "x-nonce"},
    "bearer": {"type": "http", "scheme": "bearer", "description": "MiniMax dialect: the API key"},
    "signature": {
        "type": "apiKey",
        "in": "header",
        "name": "x-signature",
        "description": "hex(HMAC-SHA256(key=API key, message=API secret + nonce))",
    },
}

_TEXT = {"type": "string"}


def _field(param: Param) -> dict[str, Any]:
    """A Run parameter's OpenAPI schema, from its contract declaration (Wiro's fields are all
    form text, a seed too)."""
    return param.schema(**_TEXT)


RUN_FIELDS: dict[str, Any] = {
    IMAGE.name: _field(IMAGE),
    IMAGE_URL_ALIAS: {**_TEXT, "description": f"alias of {IMAGE.name}"},
    PROMPT.name: _field(PROMPT),
    CALLBACK.name: _field(CALLBACK),
    SEED.name: _field(SEED),
}
REF_FIELDS: dict[str, Any] = {"taskid": _TEXT, "tasktoken": _TEXT, "socketaccesstoken": _TEXT}
LIST_FIELDS: dict[str, Any] = {
    "start": _TEXT,
    "limit": _TEXT,
    "order": {"type": "string", "enum": ["asc", "desc"]},
    "status": _TEXT,
}
TOOL_FIELDS: dict[str, Any] = {"slugowner": _TEXT, "slugproject": _TEXT}


def _object(fields: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": fields}


def request_body(
    fields: dict[str, Any], *, upload: bool = False, audio: bool = False
) -> dict[str, Any]:
    """A body accepted as JSON, urlencoded or multipart (with the image upload where `upload`,
    and the voice recording's where `audio`)."""
    multipart = dict(fields)
    if upload:
        multipart[UPLOAD_PARAM] = {"type": "string", "format": "binary"}
    if audio:
        multipart[AUDIO_UPLOAD_PARAM] = {
            "type": "string",
            "format": "binary",
            "description": f"Optional: a voice recording for the lips, as a file (beside "
            f"{AUDIO.name}; WAV, MP3, M4A/AAC, OGG/Opus; at most 12 s)",
        }
    return {
        "required": False,
        "content": {
            "application/json": {"schema": _object(fields)},
            "application/x-www-form-urlencoded": {"schema": _object(fields)},
            "multipart/form-data": {"schema": _object(multipart)},
        },
    }


def responses(*extra: int) -> dict[str, Any]:
    """The envelope answers of a Wiro route: the common codes and `extra`."""
    codes = sorted({*COMMON, *extra})
    return {
        str(code): {
            "description": _WHY[code],
            "content": {"application/json": {"schema": ENVELOPE}},
            **(
                {"headers": {"Retry-After": {"schema": {"type": "integer"}}}} if code == 429 else {}
            ),
        }
        for code in codes
    }


def route(
    fields: dict[str, Any], *codes: int, upload: bool = False, audio: bool = False
) -> dict[str, Any]:
    """The `openapi_extra` of a Wiro POST route."""
    return {
        "requestBody": request_body(fields, upload=upload, audio=audio),
        "responses": responses(*codes),
        "security": SECURITY,
    }


def install(app: FastAPI) -> None:
    """Add the auth header schemes to the app's generated document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            document.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
