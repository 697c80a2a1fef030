"""The task lifecycle, in the order a task passes through it (spec: "Task lifecycle")."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Status(StrEnum):
    #: Created and waiting for a worker.
    queue = "task_queue"
    #: A worker claimed it.
    accept = "task_accept"
    #: Fetching and checking the image, finding the face.
    preprocess_start = "task_preprocess_start"
    #: The input is ready.
    preprocess_end = "task_preprocess_end"
    #: Handed to the engine.
    assign = "task_assign"
    #: The engine started.
    start = "task_start"
    #: Progress while the engine works (repeated as events; stored once).
    output = "task_output"
    #: The engine produced every frame.
    output_full = "task_output_full"
    #: The engine finished.
    end = "task_end"
    #: Encoding and storing the video.
    postprocess_start = "task_postprocess_start"
    #: Final: done, successfully (pexit "0") or not (pexit "1").
    postprocess_end = "task_postprocess_end"
    #: Final: cancelled before it started, or killed.
    cancel = "task_cancel"

    @property
    def is_final(self) -> bool:
        return self in FINAL

    @property
    def rank(self) -> int:
        return ORDER.index(self)


ORDER: tuple[Status, ...] = tuple(Status)
FINAL: frozenset[Status] = frozenset({Status.postprocess_end, Status.cancel})
#: Every status a task can still leave: what an ending may start from.
UNFINISHED: tuple[Status, ...] = tuple(s for s in ORDER if s not in FINAL)
#: Cancel is allowed only before a worker has started on the task.
CANCELLABLE: frozenset[Status] = frozenset({Status.queue, Status.accept})
#: Statuses of a task a worker holds: if the worker dies here, the task is retried.
RUNNING: frozenset[Status] = frozenset(ORDER[1:-2])


#: The Detail field `pexit` of a task that ended: "0" made its video, "1" did not.
PEXIT_SUCCEEDED, PEXIT_FAILED = "0", "1"


class Outcome(StrEnum):
    """How a task stands, as every dialect reads it (none re-derives it from `pexit`)."""

    #: Not final yet.
    running = "running"
    #: Ended with its video.
    succeeded = "succeeded"
    #: Ended without a video (an error; its `failure` column says why).
    failed = "failed"
    #: Cancelled before it started, or killed.
    cancelled = "cancelled"

    @classmethod
    def of(cls, task: Any) -> Outcome:
        """The outcome of a task, whatever holds it (a Task, a store row)."""
        return cls.at(task.status, task.pexit)

    @classmethod
    def at(cls, status: str, pexit: str | None) -> Outcome:
        """The outcome of a task at `status` with `pexit`."""
        if status == Status.cancel:
            return cls.cancelled
        if status != Status.postprocess_end:
            return cls.running
        return cls.succeeded if pexit == PEXIT_SUCCEEDED else cls.failed
