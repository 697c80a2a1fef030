"""Client exceptions. The tree, written out once:

ClientError                   anything the client raises on purpose
├── APIError                  the server answered `result: false` or an HTTP error status
│   ├── BadRequestError       400 (code 0: a parameter is wrong), 413
│   ├── AuthenticationError   401 (unknown key, missing or bad signature, rejected nonce)
│   ├── NotFoundError         404 (no such task, model or path)
│   ├── ConflictError         409 (the task is not in a state that allows the call)
│   ├── RateLimitError        429 (too many unfinished tasks; `retry_after` seconds)
│   └── ServerError           5xx
├── TransportError            the request did not complete (connect, read, timeout)
├── DownloadError             an output could not be downloaded whole
└── WaitTimeout               a task was not final within the time given (also a TimeoutError)
"""

from __future__ import annotations

from typing import Any


class ClientError(Exception):
    """The root of every error the client raises on purpose."""


class APIError(ClientError):
    """The server refused a call: HTTP `status` and the wire's `errors` list."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        errors: list[dict[str, Any]] | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.errors = errors or []
        self.body = body

    @property
    def codes(self) -> list[int]:
        """The `code` of each error of the wire (0 validation, 1 not found or state, 96 limit)."""
        return [int(e.get("code", 0)) for e in self.errors if isinstance(e, dict)]

    def __str__(self) -> str:
        return f"{self.message} (HTTP {self.status}, codes {self.codes})"


class BadRequestError(APIError):
    """HTTP 400 or 413: a request parameter is missing or wrong."""


class AuthenticationError(APIError):
    """HTTP 401: unknown API key, missing or bad signature, or a rejected nonce."""


class NotFoundError(APIError):
    """HTTP 404: no such task (or not this project's), model or path."""


class ConflictError(APIError):
    """HTTP 409: the task's status does not allow the call (cancel a running, kill a final)."""


class RateLimitError(APIError):
    """HTTP 429: the project's limit of unfinished tasks; try again after `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(APIError):
    """HTTP 5xx: a fault on the server's side."""


class TransportError(ClientError):
    """The request did not complete: connection refused or reset, or a network timeout."""


class DownloadError(ClientError):
    """An output could not be downloaded whole (wrong size, bad status)."""


class WaitTimeout(ClientError, TimeoutError):
    """The task was not final within the time given; `task` is its last known state, if any."""

    def __init__(self, message: str, *, task: Any = None) -> None:
        super().__init__(message)
        self.task = task
