"""The door every dialect shares, written once: how a route answers, and cursor pages.

A dialect's route is `parse → one service call → render`, run inside `answer`, which turns any
error into the dialect's own error body (its `error` function). The rest of the door lives beside
this: the caller (deps.authorize: signed or key-only; deps.bearer), the body (body.py: JSON,
form, multipart, data URIs, one size formula) and the files (files.py: Range, expiry, ownership).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.responses import JSONResponse, Response

from subject2video.api.errors import ApiError
from subject2video.errors import InputError, ServiceError

logger = logging.getLogger(__name__)


class DialectError(Exception):
    """An error a dialect raises in its own words (its error function renders it as is)."""


async def answer(
    work: Callable[[], Awaitable[Any]],
    error: Callable[[Exception], Response],
    ok: Callable[[Any], Response] = JSONResponse,
) -> Response:
    """Run a route's work: its result through `ok` (a Response goes as it is); any error through
    `error`. An error nobody expected is logged with its stack first."""
    try:
        result = await work()
    except Exception as exc:
        if not isinstance(exc, ApiError | ServiceError | DialectError):
            logger.exception("route failed")
        return error(exc)
    return result if isinstance(result, Response) else ok(result)


def page_size(raw: str, *, default: int = 20, high: int = 100, parameter: str = "limit") -> int:
    """A cursor page's size as a caller wrote it (empty: `default`), from 1 to `high`."""
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= high:
        raise InputError(f"{parameter} must be an integer from 1 to {high}", parameter=parameter)
    return int(raw)
