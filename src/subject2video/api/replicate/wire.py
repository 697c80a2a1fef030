"""Replicate's wire: a task rendered as a prediction, and errors in Replicate's body.

| our status                                  | prediction status                      |
|---------------------------------------------|----------------------------------------|
| task_queue, task_accept                     | starting                               |
| task_preprocess_start … task_postprocess_start | processing                          |
| task_postprocess_end, succeeded             | succeeded (`output`: the MP4's URL)    |
| task_postprocess_end, failed                | failed (`error` says why)              |
| task_cancel                                 | canceled                               |

`aborted` is never emitted (the Python client's model rejects it). `logs` holds the task's log
lines and, while it renders, a tqdm-style progress line (` 40%|████      | 60/150 …`) that the
clients parse into `progress`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

from subject2video.api.door import DialectError
from subject2video.api.errors import ApiError
from subject2video.api.files import OutputLinks
from subject2video.api.replicate.models import (
    AUDIO,
    DEFAULT,
    DURATION,
    FIRST_FRAME,
    FRAMING,
    MODELS,
    PROMPT,
    RESOLUTION,
    SEED,
    VOICE,
    Model,
)
from subject2video.contract import AUDIO as AUDIO_PARAM
from subject2video.contract import IMAGE_URL_ALIASES, RunInput
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
from subject2video.tasks.models import Output, Task
from subject2video.tasks.status import Status

FINAL = ("succeeded", "failed", "canceled")
_STARTING = {Status.queue, Status.accept}


def status_of(task: Task) -> str:
    """The prediction status of a task."""
    ours = Status(task.status)
    if ours == Status.cancel:
        return "canceled"
    if ours == Status.postprocess_end:
        return "succeeded" if task.pexit == "0" else "failed"
    return "starting" if ours in _STARTING else "processing"


def model_of(task: Task) -> Model:
    """The served model a task was made with (tasks of other dialects show as video-01)."""
    run = RunInput.from_parameters(task.parameters or {})
    return MODELS.get(run.model or "", DEFAULT)


def prediction_id(task: Task) -> str:
    return str(task.id)


def _time(value: float | None) -> str | None:
    if value is None:
        return None
    return dt.datetime.fromtimestamp(value, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def progress_line(message: Any) -> str:
    """A progress message (the runner's) as tqdm prints it ('' when there is none)."""
    if not isinstance(message, dict):
        return ""
    try:
        pct = int(message.get("percentage", ""))
        done, total = int(message.get("stepCurrent", "")), int(message.get("stepTotal", ""))
    except ValueError:
        return ""
    bar = ("█" * (pct // 10)).ljust(10)
    return (
        f"{pct:3d}%|{bar}| {done}/{total} [{message.get('elapsedTime', '0s')}<"
        f"{message.get('remainingTime', '0s')}, {message.get('speed', '0')}it/s]"
    )


def logs_of(task: Task, shown: str) -> str:
    """The task's log lines, then its progress (complete once it succeeded)."""
    lines = [line for line in (task.debugoutput or "").splitlines() if line.strip()]
    message = task.progress if isinstance(task.progress, dict) else None
    if message and shown == "succeeded":
        total = str(message.get("stepTotal", ""))
        message = message | {"percentage": "100", "stepCurrent": total, "remainingTime": "0s"}
    progress = progress_line(message)
    if progress:
        lines.append(progress)
    return "\n".join(lines)


def input_of(task: Task, model: Model) -> dict[str, Any]:
    """The prediction's input, under Replicate's names (the photo under the model's first)."""
    run = RunInput.from_parameters(task.parameters or {})
    shown: dict[str, Any] = {}
    if run.prompt:
        shown[PROMPT] = run.prompt
    photo = run.image_url or run.upload
    if photo:
        shown[model.photo[0]] = photo
    if run.seed:
        shown[SEED] = run.seed
    if run.framing:
        shown[FRAMING] = run.framing
    if model.durations:
        # The length the video has: the speech's where it followed it (no duration given).
        shown[DURATION] = round(run.length, 2) if run.made_frames else run.seconds
        shown[RESOLUTION] = f"{run.short_side}p"
    if run.voice:
        shown[VOICE] = run.voice
    if run.audio_url:
        shown[AUDIO] = run.audio_url
    return shown


def rename(text: str, photo: str) -> str:
    """A domain message with our image parameter names as Replicate's `photo` input."""
    for ours in IMAGE_URL_ALIASES:  # the longest first: inputImageFirstUrl holds inputImageFirst
        text = text.replace(f"[{ours}]", photo).replace(ours, photo)
    text = text.replace(AUDIO_PARAM.name, AUDIO)  # the worker's audio errors, as spelled here
    return re.sub(r"^Request parameter ", "input.", text)


def prediction(
    task: Task,
    outputs: Sequence[Output],
    links: OutputLinks,
    api: str,
    shown: str | None = None,
) -> dict[str, Any]:
    """The prediction object of a task; `links` writes its output's URL, `api` is the base the
    caller used (for `urls`); `shown`, the status it is shown with (default: the task's own,
    `status_of`)."""
    model = model_of(task)
    shown = shown or status_of(task)
    pid = prediction_id(task)
    started = task.starttime or task.accepttime
    completed = task.postprocessendtime or task.canceltime if shown in FINAL else None
    output = None
    if shown == "succeeded" and outputs:
        output = links.url(outputs[0])
    error = None
    if shown == "failed":
        error = rename(task.debugerror or "the prediction failed", model.photo[0])
    metrics: dict[str, Any] = {}
    if completed is not None and started is not None:
        metrics["predict_time"] = round(max(completed - started, 0.0), 6)
    if completed is not None:
        metrics["total_time"] = round(max(completed - task.createtime, 0.0), 6)
    return {
        "id": pid,
        "model": model.ref,
        "version": model.version,
        "input": input_of(task, model),
        "logs": logs_of(task, shown),
        "output": output,
        "data_removed": shown == "succeeded" and not outputs,
        "error": error,
        "status": shown,
        "source": "api",
        "created_at": _time(task.createtime),
        "started_at": _time(started),
        "completed_at": _time(completed),
        "urls": {
            "get": f"{api}/v1/predictions/{pid}",
            "cancel": f"{api}/v1/predictions/{pid}/cancel",
            "web": f"{links.base_url}/",  # the playground (no page of one prediction)
        },
        "metrics": metrics,
    }


# -- errors -------------------------------------------------------------------------------------


class ReplicateError(DialectError):
    """An error answered in Replicate's body: {title, detail, status} (RFC 7807 problem details)."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.field = field
        self.headers = headers

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"title": self.title, "detail": self.detail, "status": self.status}
        if self.status == 422:
            where = f"input.{self.field}" if self.field else "input"
            body["detail"] = f"- {where}: {self.detail}"
            body["invalid_fields"] = [
                {"type": "invalid", "field": where, "description": self.detail}
            ]
        return body


def invalid(field: str, detail: str) -> ReplicateError:
    """A 422 naming one input as Replicate spells it."""
    return ReplicateError(422, "Input validation failed", detail, field=field)


#: Domain error → (HTTP status, title). The first class in an error's MRO that is here wins.
ERRORS: dict[type[ServiceError], tuple[int, str]] = {
    TooLarge: (413, "Request entity too large"),
    InputError: (422, "Input validation failed"),
    NotFound: (404, "Not found"),
    Conflict: (409, "Conflict"),
    LimitReached: (429, "Too many requests"),
    StorageError: (503, "Service unavailable"),
    ServiceError: (500, "Internal server error"),
}


def replicate_error(exc: Exception, photo: str = FIRST_FRAME) -> ReplicateError:
    """Any exception a route raised, in Replicate's words (`photo`: the request's photo input)."""
    if isinstance(exc, ReplicateError):
        return exc
    if isinstance(exc, ServiceError):
        status, title = lookup(ERRORS, exc) or ERRORS[ServiceError]
        retry = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(retry)} if retry is not None else None
        field = getattr(exc, "parameter", None)
        if field in IMAGE_URL_ALIASES:
            field = photo
        detail = rename(exc.message, photo)
        return ReplicateError(status, title, detail, field=field, headers=headers)
    if isinstance(exc, ApiError):  # what only HTTP knows: an unreadable or oversized body
        title = "Request entity too large" if exc.status == 413 else "Invalid request"
        return ReplicateError(exc.status, title, exc.message, headers=exc.headers)
    return ReplicateError(500, "Internal server error", "The server log has the details.")
