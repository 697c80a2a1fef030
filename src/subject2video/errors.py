"""The exception tree, written out once.

ServiceError                 any failure the service reports to a caller
 ├── InputError              a caller's input is wrong (a parameter is named where one is at fault)
 │    ├── FetchError         a URL could not be fetched, or is not allowed
 │    └── ImageError         the bytes are not an acceptable image, or hold no human face
 └── EngineError             the engine failed while generating
      └── Cancelled          the task was killed; raised from an engine's cancel check
"""

from __future__ import annotations


class ServiceError(Exception):
    """Root of every error the service turns into a task failure or an API error."""

    def __init__(self, message: str, *, task_id: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.task_id = task_id


class InputError(ServiceError):
    """A caller's input is wrong; `parameter` names the input at fault."""

    def __init__(self, message: str, *, parameter: str | None = None, **kw: int | None) -> None:
        super().__init__(message, **kw)
        self.parameter = parameter


class FetchError(InputError):
    """A URL the caller gave could not be fetched, or points where the server may not go."""


class ImageError(InputError):
    """The image is not acceptable: wrong type, too large, too small, broken, or without a face."""


class EngineError(ServiceError):
    """The engine failed while generating a video."""


class Cancelled(EngineError):
    """The task was killed while it ran."""

    def __init__(self, message: str = "task was killed", **kw: int | None) -> None:
        super().__init__(message, **kw)
