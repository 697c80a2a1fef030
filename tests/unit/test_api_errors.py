"""Wiro's wire form of the domain errors: one table, statuses and codes as the spec has them."""

from __future__ import annotations

import pytest

from subject2video.api.errors import CONCURRENCY, NOT_FOUND, VALIDATION, wiro_error
from subject2video.errors import (
    Cancelled,
    Conflict,
    EngineError,
    FetchError,
    ImageError,
    InputError,
    LimitReached,
    NotFound,
    ServiceError,
    StorageError,
    TooLarge,
)


@pytest.mark.parametrize(
    ("error", "status", "code", "retry"),
    [
        (InputError("Request parameter [prompt] must be text"), 400, VALIDATION, None),
        (FetchError("Request parameter [x] points to a non-public address"), 400, VALIDATION, None),
        (ImageError("Request parameter [x] is too small"), 400, VALIDATION, None),
        (TooLarge("Request parameter [inputImageFirst] is 30 MB"), 413, VALIDATION, None),
        (NotFound("There is no task yet."), 404, NOT_FOUND, None),
        (Conflict("Task is not in a cancellable state."), 409, NOT_FOUND, None),
        (LimitReached("Concurrency limit reached", retry_after=5), 429, CONCURRENCY, "5"),
        (StorageError("the data directory is not writable", retry_after=10), 503, VALIDATION, "10"),
        (EngineError("boom"), 500, VALIDATION, None),
        (Cancelled(), 500, VALIDATION, None),
        (ServiceError("?"), 500, VALIDATION, None),
    ],
)
def test_wiro_error_table(error: ServiceError, status: int, code: int, retry: str | None) -> None:
    wire = wiro_error(error)
    assert (wire.status, wire.code, wire.message) == (status, code, error.message)
    assert (wire.headers or {}).get("Retry-After") == retry
