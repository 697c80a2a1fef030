"""API errors: the Wiro envelope (`result`, `errors`) with the spec's codes and HTTP statuses.

Domain errors (subject2video.errors) become the envelope through one table, `WIRO_ERRORS`; an
`ApiError` is for what only HTTP knows (authentication, a body that cannot be read).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from subject2video.errors import (
    Conflict,
    InputError,
    LimitReached,
    NotFound,
    ServiceError,
    StorageError,
    TooLarge,
    lookup,
)

logger = logging.getLogger(__name__)

#: Error codes of the wire.
VALIDATION, NOT_FOUND, CONCURRENCY = 0, 1, 96


class ApiError(Exception):
    """An error answered in the envelope: `code` of the wire, `status` of HTTP."""

    def __init__(
        self,
        message: str,
        *,
        code: int = VALIDATION,
        status: int = 400,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.headers = headers


#: Domain error → (HTTP status, wire code). The first class in an error's MRO that is here wins.
WIRO_ERRORS: dict[type[ServiceError], tuple[int, int]] = {
    TooLarge: (413, VALIDATION),
    InputError: (400, VALIDATION),
    NotFound: (404, NOT_FOUND),
    Conflict: (409, NOT_FOUND),
    LimitReached: (429, CONCURRENCY),
    StorageError: (503, VALIDATION),
    ServiceError: (500, VALIDATION),
}


def envelope(message: str, code: int) -> dict[str, Any]:
    return {"result": False, "errors": [{"code": code, "message": message}]}


def wiro_error(exc: ServiceError) -> ApiError:
    """A domain error in Wiro's words: the status and code of `WIRO_ERRORS`, Retry-After where
    the error says when to retry."""
    status, code = lookup(WIRO_ERRORS, exc) or WIRO_ERRORS[ServiceError]
    retry = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(retry)} if retry is not None else None
    return ApiError(exc.message, code=code, status=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves as the envelope; nothing leaves as a stack trace."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(envelope(exc.message, exc.code), exc.status, headers=exc.headers)

    @app.exception_handler(ServiceError)
    async def _service_error(_request: Request, exc: ServiceError) -> JSONResponse:
        wire = wiro_error(exc)
        return JSONResponse(envelope(wire.message, wire.code), wire.status, headers=wire.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return JSONResponse(envelope("Error parsing url.", NOT_FOUND), 404)
        code = NOT_FOUND if exc.status_code in (404, 405, 409) else VALIDATION
        return JSONResponse(envelope(str(exc.detail), code), exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return JSONResponse(envelope(f"Invalid request: {where} {first.get('msg', '')}", 0), 400)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", extra={"path": request.url.path})
        return JSONResponse(
            envelope("Internal server error; the server log has the details.", VALIDATION), 500
        )
