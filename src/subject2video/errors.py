"""The exception tree, written out once. Domain errors only: no HTTP, no wire codes.

ServiceError                 any failure the service reports to a caller
 ├── InputError              a caller's input is wrong (`parameter` names the input at fault)
 │    ├── TooLarge           an input is over its size limit
 │    ├── FetchError         a URL could not be fetched, or is not allowed
 │    └── ImageError         the bytes are not an acceptable image, or hold no human face
 ├── NotFound                no such task (or file) for this caller
 ├── Conflict                the task is in the wrong state for the request (not cancellable…)
 ├── LimitReached            a limit on unfinished work is reached; `retry_after` says when to retry
 ├── StorageError            the disk or the database failed (not the caller's fault)
 │    └── Draining           the server is stopping: it takes no new task while running ones end
 └── EngineError             the engine failed while generating
      ├── TimedOut           the task ran past its time limit
      └── Cancelled          the task was killed; raised from an engine's cancel check

Each dialect (api/errors.py for Wiro's, api/minimax.py for MiniMax's) maps these classes to its
own wire form in one table. A task that fails keeps its `Failure` kind in the store, so no dialect
reads a message to learn why.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

T = TypeVar("T")


class Failure(StrEnum):
    """Why a task ended without a video: the store's `failure` column."""

    #: The input image was refused or could not be fetched.
    image = "image"
    #: Another input was wrong.
    input = "input"
    #: The disk or the database failed.
    storage = "storage"
    #: The engine failed.
    engine = "engine"
    #: The task ran past its time limit.
    timeout = "timeout"
    #: The worker process running it stopped, too many times.
    worker = "worker"
    #: Cancelled before it started, or killed while it ran.
    killed = "killed"


class ServiceError(Exception):
    """Root of every error the service turns into a task failure or an API error."""

    #: The failure kind a task that ends on this error is stored with.
    failure: Failure = Failure.engine

    def __init__(self, message: str, *, task_id: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.task_id = task_id


class InputError(ServiceError):
    """A caller's input is wrong; `parameter` names the input at fault."""

    failure = Failure.input

    def __init__(self, message: str, *, parameter: str | None = None, **kw: int | None) -> None:
        super().__init__(message, **kw)
        self.parameter = parameter


class TooLarge(InputError):
    """An input (an uploaded image, a body) is over its size limit."""


class FetchError(InputError):
    """A URL the caller gave could not be fetched, or points where the server may not go."""

    failure = Failure.image


class ImageError(InputError):
    """The image is not acceptable: wrong type, too large, too small, broken, or without a face."""

    failure = Failure.image


class NotFound(ServiceError):
    """No such task (or file) for this caller; another project's task is not there either."""


class Conflict(ServiceError):
    """The task is in the wrong state for the request: not cancellable, already finished…"""


class LimitReached(ServiceError):
    """A limit on unfinished work is reached; retry after `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: int = 5, **kw: int | None) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class StorageError(ServiceError):
    """The disk or the database failed: the machine's fault, not the caller's nor the engine's."""

    failure = Failure.storage

    def __init__(self, message: str, *, retry_after: int = 5, **kw: int | None) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class Draining(StorageError):
    """The server is stopping (draining its workers): no new task; answered like a storage
    failure (503 with Retry-After) in every dialect, since it is as little the caller's fault."""


class EngineError(ServiceError):
    """The engine failed while generating a video."""


class TimedOut(EngineError):
    """The task ran past `S2V_TASK_TIMEOUT_SECONDS`."""

    failure = Failure.timeout


class Cancelled(EngineError):
    """The task was killed while it ran."""

    failure = Failure.killed

    def __init__(self, message: str = "task was killed", **kw: int | None) -> None:
        super().__init__(message, **kw)


def lookup(table: Mapping[type[ServiceError], T], error: ServiceError) -> T | None:
    """A dialect's row for `error`: the first class of its MRO in `table` (None if none is)."""
    return next((table[c] for c in type(error).__mro__ if c in table), None)


E = TypeVar("E", bound=ServiceError)


def respell(text: str, names: Mapping[str, str]) -> str:
    """`text` with each `[name]` of ours written as a dialect's caller spells it (`names`)."""
    for ours, theirs in names.items():
        if theirs and ours != theirs:
            text = text.replace(f"[{ours}]", f"[{theirs}]")
    return text


def spelled(error: E, names: Mapping[str, str]) -> E:
    """`error` naming its parameter as a dialect's caller spells it: in `parameter` and in its
    message. The error itself is left as it was (it may be raised again elsewhere)."""
    parameter = getattr(error, "parameter", None)
    message = respell(error.message, names)
    if message == error.message and (parameter is None or parameter not in names):
        return error
    copy = type(error).__new__(type(error))
    copy.__dict__.update(error.__dict__)
    copy.args = (message,)
    copy.message = message
    if parameter is not None and names.get(parameter):
        copy.parameter = names[parameter]  # type: ignore[attr-defined]
    return copy
