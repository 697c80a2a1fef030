"""Data URIs (`data:image/png;base64,...`), as dialects accept images inline: one decoder."""

from __future__ import annotations

import base64
import binascii
import re

from subject2video.errors import InputError
from subject2video.media.images import sniff_format

_DATA_URI = re.compile(r"data:([a-z0-9.+-]+/[a-z0-9.+-]+)?;base64,(.*)", re.IGNORECASE | re.DOTALL)
_IMAGE_URI = re.compile(r"data:image/([a-z0-9.+-]+);base64,(.*)", re.IGNORECASE | re.DOTALL)
_SUFFIXES = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}


def is_data_uri(text: str) -> bool:
    return text[:5].lower() == "data:"


def _base64(payload: str, parameter: str, noun: str) -> bytes:
    try:
        return base64.b64decode("".join(payload.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InputError(f"{parameter} {noun} is not valid base64", parameter=parameter) from None


def decode_data_uri(text: str, parameter: str) -> bytes:
    """The bytes of a base64 data URI of any type; InputError naming `parameter` when it is not
    one."""
    match = _DATA_URI.fullmatch(text.strip())
    if match is None:
        raise InputError(
            f"{parameter} must be a data URI such as data:image/png;base64,<data>",
            parameter=parameter,
        )
    return _base64(match.group(2), parameter, "data URI")


def data_uri(text: str, parameter: str, *, noun: str = "data URI") -> bytes:
    """The bytes of a `data:image/<type>;base64,<data>` URI (InputError naming `parameter`, the
    URI called `noun`: OpenAI says "data URL")."""
    match = _IMAGE_URI.fullmatch(text)
    if match is None:
        raise InputError(
            f"{parameter} {noun} must be data:image/<type>;base64,<data>", parameter=parameter
        )
    return _base64(match.group(2), parameter, noun)


def image_suffix(data: bytes) -> str:
    """A file suffix for image bytes: jpg, png or webp (img when it is none of them)."""
    return _SUFFIXES.get(sniff_format(data) or "", "img")
