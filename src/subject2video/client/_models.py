"""Typed views of the wire: every string of Detail becomes an int, float, datetime or enum.

Each model keeps the dict it was parsed from in `raw`, so a field the model does not name (the
hosted API sends more than ours) is still reachable.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from subject2video.tasks.status import FINAL, Status

#: The lifecycle of a task (the server's own enum: one list of statuses for both sides).
TaskStatus = Status

__all__ = ["Event", "Output", "Progress", "RunResult", "Task", "TaskStatus"]


def _unix_time(value: Any) -> datetime | None:
    """Unix seconds as the wire sends them ("1734513807"; "0", "" or null: not set)."""
    if value in (None, "", "0", 0):
        return None
    if isinstance(value, datetime):
        return value
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None


def _status(value: Any) -> Any:
    """A known status becomes the enum; an unknown one (a newer server's) stays a string."""
    try:
        return Status(value)
    except ValueError:
        return value


def _number(value: Any) -> Any:
    """An empty string or null is None; anything else is left for pydantic to convert."""
    return None if value in (None, "") else value


class _Wire(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="ignore")

    #: The wire dict this was parsed from.
    raw: dict[str, Any] = Field(default_factory=dict, repr=False, exclude=True)

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Any:
        """Parse one wire dict, keeping it in `raw`."""
        return cls.model_validate({**data, "raw": data})


class Progress(_Wire):
    """A progress message of a task_output event (percentage 0 to 100)."""

    type: str = ""
    task: str = ""
    percentage: float = 0.0
    step_current: int | None = Field(None, alias="stepCurrent")
    step_total: int | None = Field(None, alias="stepTotal")
    speed: float | None = None
    speed_type: str = Field("", alias="speedType")
    elapsed_time: str = Field("", alias="elapsedTime")
    remaining_time: str = Field("", alias="remainingTime")

    _numbers = field_validator("percentage", "step_current", "step_total", "speed", mode="before")(
        _number
    )


class Output(_Wire):
    """One output file of a task (ours: the MP4)."""

    id: str
    name: str
    contenttype: str = ""
    parentid: str = ""
    uuid: str = ""
    size: int | None = None
    addedtime: datetime | None = None
    modifiedtime: datetime | None = None
    accesskey: str = ""
    url: str

    _times = field_validator("addedtime", "modifiedtime", mode="before")(_unix_time)
    _sizes = field_validator("size", mode="before")(_number)


class Task(_Wire):
    """One task as Detail, Cancel, Kill and List describe it."""

    id: int
    uuid: str = ""
    socketaccesstoken: str = ""
    status: TaskStatus | str
    pexit: int | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    debugoutput: str = ""
    debugerror: str = ""
    createtime: datetime | None = None
    accepttime: datetime | None = None
    assigntime: datetime | None = None
    preprocessstarttime: datetime | None = None
    preprocessendtime: datetime | None = None
    starttime: datetime | None = None
    endtime: datetime | None = None
    postprocessstarttime: datetime | None = None
    postprocessendtime: datetime | None = None
    canceltime: datetime | None = None
    elapsedseconds: float | None = None
    cps: float | None = None
    totalcost: float | None = None
    modelslugowner: str = ""
    modelslugproject: str = ""
    outputs: list[Output] = Field(default_factory=list)
    size: int | None = None
    progress: Progress | None = None

    _times = field_validator(
        "createtime",
        "accepttime",
        "assigntime",
        "preprocessstarttime",
        "preprocessendtime",
        "starttime",
        "endtime",
        "postprocessstarttime",
        "postprocessendtime",
        "canceltime",
        mode="before",
    )(_unix_time)
    _status = field_validator("status", mode="before")(_status)
    _numbers = field_validator(
        "pexit", "elapsedseconds", "cps", "totalcost", "size", mode="before"
    )(_number)

    @field_validator("outputs", mode="before")
    @classmethod
    def _outputs(cls, value: Any) -> Any:
        return [Output.from_wire(o) if isinstance(o, dict) else o for o in value or []]

    @field_validator("progress", mode="before")
    @classmethod
    def _progress(cls, value: Any) -> Any:
        return Progress.from_wire(value) if isinstance(value, dict) else None

    @property
    def is_final(self) -> bool:
        """Polling can stop: task_postprocess_end or task_cancel."""
        return self.status in FINAL

    @property
    def succeeded(self) -> bool:
        """Final, not cancelled, exit code 0."""
        return self.status == Status.postprocess_end and self.pexit == 0

    @property
    def cancelled(self) -> bool:
        return self.status == Status.cancel

    @property
    def failed(self) -> bool:
        """Final at task_postprocess_end with a non-zero exit code (the reason is `debugerror`)."""
        return self.status == Status.postprocess_end and self.pexit not in (None, 0)

    @property
    def video(self) -> Output | None:
        """The first video output, if any."""
        return next((o for o in self.outputs if o.contenttype.startswith("video/")), None)


class RunResult(_Wire):
    """What Run answers: the new task's id and socket access token."""

    taskid: int
    socketaccesstoken: str


class Event(_Wire):
    """One WebSocket event (or polled change): a status with progress, outputs or a log line."""

    type: TaskStatus | str
    task_id: int | None = Field(None, alias="id")
    tasktoken: str = ""
    message: Any = None
    #: The task as Detail returned it, when the event came from polling.
    task: Task | None = None

    _ids = field_validator("task_id", mode="before")(_number)
    _type = field_validator("type", mode="before")(_status)

    @property
    def is_final(self) -> bool:
        return self.type in FINAL

    @property
    def progress(self) -> Progress | None:
        """The progress of a task_output event."""
        if isinstance(self.message, dict) and "percentage" in self.message:
            return Progress.from_wire(self.message)
        return None

    @property
    def outputs(self) -> list[Output]:
        """The outputs a task_postprocess_end event carries."""
        if isinstance(self.message, list):
            return [Output.from_wire(o) for o in self.message if isinstance(o, dict)]
        return []

    @property
    def log(self) -> str | None:
        """A log line (task_output without progress, task_error)."""
        return self.message if isinstance(self.message, str) else None
