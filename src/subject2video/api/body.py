"""Lenient request bodies: multipart, urlencoded, JSON, and Wiro's own JSON sent as multipart.

Wiro's documented curl sends `Content-Type: multipart/form-data` with no boundary and a JSON
document as the body; that is detected and read as JSON. An empty field counts as absent.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.requests import ClientDisconnect

from subject2video.api.errors import ApiError
from subject2video.config import Settings
from subject2video.contract import UPLOAD_PARAM, check_fields, load_json
from subject2video.errors import InputError
from subject2video.tasks.service import Upload

FILE_FIELDS = (UPLOAD_PARAM,)


def inline_limit(settings: Settings) -> int:
    """The largest body of a dialect that sends its image inline (a base64 data URI in JSON):
    `S2V_MAX_BODY_BYTES`, a third larger for base64, and 64 KiB for the other fields."""
    return settings.max_body_bytes * 4 // 3 + 65536


class BadForm(ApiError):
    """A multipart body that python-multipart cannot read; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Request body is not valid multipart/form-data: {reason}")
        self.reason = reason


async def form_items(
    request: Request, max_bytes: int, *, max_files: int, max_fields: int
) -> list[tuple[str, str | Upload]]:
    """A multipart body's fields in order: text as str, files as Upload (read whole)."""
    try:
        form = await request.form(
            max_files=max_files, max_fields=max_fields, max_part_size=max_bytes
        )
    except Exception as exc:  # python-multipart raises several kinds for malformed input
        raise BadForm(str(exc)) from None
    items: list[tuple[str, str | Upload]] = []
    try:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                items.append((name, Upload(filename=value.filename or "", data=await value.read())))
            else:
                items.append((name, value))
    finally:
        await form.close()
    return items


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The raw body, refusing (413) past `max_bytes` without reading further."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise ApiError(f"Request body is larger than {max_bytes} bytes", status=413)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise ApiError(f"Request body is larger than {max_bytes} bytes", status=413)
            chunks.append(chunk)
    except ClientDisconnect:
        # A client that leaves mid-body is not a server fault (it was logged as one, with a 500).
        raise ApiError("The client disconnected before sending the whole body") from None
    body = b"".join(chunks)
    request._body = body  # so that request.form() parses what was read
    return body


async def read_fields(
    request: Request,
    max_bytes: int,
    file_fields: tuple[str, ...] = FILE_FIELDS,
    other_files: dict[str, Upload] | None = None,
) -> tuple[dict[str, Any], Upload | None]:
    """The request's fields, and its uploaded file if one came (in one of `file_fields`); other
    uploaded files go into `other_files` by part name, where given."""
    body = await read_body(request, max_bytes)
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith("multipart/form-data") and "boundary=" in content_type:
        fields, upload = await _multipart(request, max_bytes, file_fields, other_files)
    elif not body.strip():
        return {}, None
    else:
        fields, upload = parse_text_body(body, content_type), None
    try:
        check_fields(fields)  # valid Unicode within limits, whatever the route reads later
    except InputError as exc:
        raise ApiError(exc.message) from None
    return fields, upload


def parse_text_body(body: bytes, content_type: str) -> dict[str, Any]:
    """A JSON or urlencoded body, whichever it is (the header is not trusted)."""
    text = body.decode("utf-8", errors="replace").strip()
    if text.startswith("{") or "json" in content_type:
        try:
            data = load_json(text)
        except InputError as exc:
            raise ApiError(exc.message) from None
        if not isinstance(data, dict):
            raise ApiError("Request body must be a JSON object")
        return {k: _scalar(v) for k, v in data.items() if not _empty(v)}
    return {k: v for k, v in parse_qsl(text, keep_blank_values=False)}


async def _multipart(
    request: Request,
    max_bytes: int,
    file_fields: tuple[str, ...],
    other_files: dict[str, Upload] | None = None,
) -> tuple[dict[str, Any], Upload | None]:
    fields: dict[str, Any] = {}
    upload: Upload | None = None
    for name, value in await form_items(request, max_bytes, max_files=4, max_fields=100):
        if isinstance(value, Upload):
            # A part with no file name and no bytes is a form's unchosen file input: no upload.
            # An empty file that has a name is an upload (Run then refuses it by its name).
            named = value.data or value.filename
            if name in file_fields and named and not (upload and upload.data):
                upload = Upload(filename=value.filename or name, data=value.data)
            elif other_files is not None:
                other_files[name] = Upload(filename=value.filename or name, data=value.data)
        elif not _empty(value):
            fields[name] = value
    return fields, upload


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _scalar(value: Any) -> Any:
    """JSON numbers and booleans become the strings a form would have sent."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value
