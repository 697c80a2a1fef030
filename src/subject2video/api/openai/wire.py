"""The OpenAI Videos dialect's words: IDs, statuses, the Video object, and the error table.

| ours                                   | OpenAI's                                        |
|----------------------------------------|-------------------------------------------------|
| task id 42                             | video id `video_42`                             |
| task_queue                             | `queued`, progress 0                            |
| task_accept … task_postprocess_start   | `in_progress`, progress from the task's percent |
| task_postprocess_end, pexit 0          | `completed`, progress 100                       |
| task_postprocess_end, pexit 1          | `failed`, `error` {code (FAILURE_CODES), message}|
| task_cancel                            | `failed`, error code `cancelled`                |

Domain errors become OpenAI's envelope `{"error": {"message", "type", "param", "code"}}` through
one table, `OPENAI_ERRORS` (add a row for a new domain error; the first class of an error's MRO
that is there wins).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from subject2video.api.door import DialectError
from subject2video.api.openai import webhooks as openai_webhooks
from subject2video.contract import (
    IMAGE_PARAM,
    OPENAI,
    RunInput,
    spelling,
)
from subject2video.errors import (
    Conflict,
    Failure,
    FetchError,
    ImageError,
    InputError,
    LimitReached,
    NotFound,
    ServiceError,
    StorageError,
    TooLarge,
    lookup,
    spelled,
)
from subject2video.tasks.status import Outcome, Status

#: Whose callback rules a task made here follows (the Task column `callback_dialect`).
DIALECT = openai_webhooks.DIALECT
ID_PREFIX = "video_"
#: OpenAI's default length when a request names none.
DEFAULT_SECONDS = 4
#: The model every server serves, whatever its engine; `s2v-<engine>` is served too.
BASE_MODEL = "s2v-1"


class OpenAIError(DialectError):
    """An error answered in OpenAI's envelope with an HTTP status."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.type = status, message, type
        self.param, self.code, self.headers = param, code, headers

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


#: Domain error -> (HTTP status, error type, error code).
OPENAI_ERRORS: dict[type[ServiceError], tuple[int, str, str | None]] = {
    TooLarge: (413, "invalid_request_error", "file_too_large"),
    FetchError: (400, "invalid_request_error", "invalid_image_url"),
    ImageError: (400, "invalid_request_error", "invalid_image"),
    InputError: (400, "invalid_request_error", "invalid_value"),
    NotFound: (404, "invalid_request_error", "not_found"),
    Conflict: (409, "invalid_request_error", "conflict"),
    LimitReached: (429, "rate_limit_error", "rate_limit_exceeded"),
    StorageError: (503, "server_error", "storage_unavailable"),
    ServiceError: (500, "server_error", None),
}
#: A failed task's stored failure kind -> the `error.code` of its Video object.
FAILURE_CODES: dict[str, str] = {
    Failure.image.value: "invalid_image",
    Failure.input.value: "invalid_input",
    Failure.storage.value: "storage_unavailable",
    Failure.engine.value: "generation_failed",
    Failure.timeout.value: "timeout",
    Failure.worker.value: "worker_lost",
    Failure.killed.value: "cancelled",
}
#: Our parameter names as OpenAI's request names them (contract.INPUTS declares each).
PARAMS = spelling(OPENAI)
IMAGE = PARAMS[IMAGE_PARAM]


def openai_error(exc: ServiceError) -> OpenAIError:
    """A domain error in OpenAI's words, naming the parameter as OpenAI's request does (in
    `param` and in the message)."""
    status, kind, code = lookup(OPENAI_ERRORS, exc) or OPENAI_ERRORS[ServiceError]
    exc = spelled(exc, PARAMS)
    param = getattr(exc, "parameter", None)
    param = PARAMS.get(param, param) if param else None
    retry = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(retry)} if retry is not None and status >= 429 else None
    return OpenAIError(status, exc.message, type=kind, param=param, code=code, headers=headers)


# -- ids and statuses -----------------------------------------------------------------------


def video_id(task_id: int) -> str:
    return f"{ID_PREFIX}{task_id}"


def task_id_of(video: str) -> int:
    """The task id in a video id (`video_42`; a bare `42` is accepted too)."""
    digits = video.removeprefix(ID_PREFIX)
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 18:
        raise NotFound(f"No video found with id '{video[:80]}'.")
    return int(digits)


def status_of(task: Any) -> str:
    outcome = Outcome.of(task)
    if outcome == Outcome.running:
        return "queued" if task.status == Status.queue else "in_progress"
    return "completed" if outcome == Outcome.succeeded else "failed"


def progress_of(task: Any, shown: str) -> int:
    if shown == "completed":
        return 100
    if shown == "queued":
        return 0
    message = task.progress if isinstance(task.progress, dict) else {}
    try:
        done = int(str(message.get("percentage", "0")))
    except ValueError:
        done = 0
    return max(0, min(99, done))


def video_object(task: Any, outputs: Sequence[Any], default_model: str) -> dict[str, Any]:
    """The Video object of a task (made in any dialect)."""
    run = RunInput.from_parameters(task.parameters or {})
    shown = status_of(task)
    ended = task.postprocessendtime if task.postprocessendtime else task.canceltime
    output = outputs[0] if outputs else None
    if run.size is not None:
        size = f"{run.size[0]}x{run.size[1]}"
    elif output is not None and output.width:
        size = f"{output.width}x{output.height}"
    else:
        size = "auto"  # the photo's own aspect, known once the photo is read
    error = None
    if shown == "failed":
        code = FAILURE_CODES.get(task.failure or "", "generation_failed")
        if Status(task.status) == Status.cancel:
            code = "cancelled"
        error = {"code": code, "message": task.debugerror or "the video was cancelled"}
    return {
        "id": video_id(task.id),
        "object": "video",
        "model": run.model or default_model,
        "status": shown,
        "progress": progress_of(task, shown),
        "created_at": int(task.createtime),
        "completed_at": int(ended) if ended and shown in ("completed", "failed") else None,
        "expires_at": int(output.expiretime) if output is not None and output.expiretime else None,
        "prompt": run.prompt_or_default,
        "seconds": f"{round(run.length, 2):g}",
        "size": size,
        "remixed_from_video_id": video_id(run.remix_of) if run.remix_of is not None else None,
        "error": error,
    }
