"""API errors: the Wiro envelope (`result`, `errors`) with the spec's codes and HTTP statuses."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

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


def envelope(message: str, code: int) -> dict[str, Any]:
    return {"result": False, "errors": [{"code": code, "message": message}]}


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves as the envelope; nothing leaves as a stack trace."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(envelope(exc.message, exc.code), exc.status, headers=exc.headers)

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
