"""Data URIs (`data:image/png;base64,...`), as dialects accept images inline."""

from __future__ import annotations

import base64
import binascii
import re

from subject2video.errors import InputError

_DATA_URI = re.compile(r"data:([a-z0-9.+-]+/[a-z0-9.+-]+)?;base64,(.*)", re.IGNORECASE | re.DOTALL)


def is_data_uri(text: str) -> bool:
    return text[:5].lower() == "data:"


def decode_data_uri(text: str, parameter: str) -> bytes:
    """The bytes of a base64 data URI; InputError naming `parameter` when it is not one."""
    match = _DATA_URI.fullmatch(text.strip())
    if match is None:
        raise InputError(
            f"{parameter} must be a data URI such as data:image/png;base64,<data>",
            parameter=parameter,
        )
    try:
        return base64.b64decode("".join(match.group(2).split()), validate=True)
    except (binascii.Error, ValueError):
        raise InputError(f"{parameter} data URI is not valid base64", parameter=parameter) from None
