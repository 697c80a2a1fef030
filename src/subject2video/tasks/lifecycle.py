"""The one way a task ends: final transition (compare-and-set), event, callback.

Every path that ends a task calls `Lifecycle.end` (through `done`, `fail` or `cancel`):

| path                         | caller                          | ending                         |
|------------------------------|---------------------------------|--------------------------------|
| the video is stored          | runner (postprocess)            | done: postprocess_end, pexit 0 |
| an error while it ran        | runner                          | fail: postprocess_end, pexit 1 |
| Cancel before it started     | service                         | cancel: task_cancel            |
| Kill at any unfinished status| service; runner (kill flag seen)| cancel: task_cancel            |
| a worker ignored a kill      | supervisor (process ended)      | cancel: task_cancel            |
| the worker died, too often   | supervisor, at start-up too     | fail (worker)                  |
| a worker's heartbeat lapsed  | reaper                          | fail (worker)                  |

The transition is a compare-and-set on the status (and, for a worker, its claim token), so of two
racing endings exactly one wins, and only the winner publishes the final event and records the
callback. A task a dead worker held and that may still be retried is requeued by `recover`, which
is not an ending; nor is `release`, which puts back a task whose worker was stopped on purpose
(a graceful stop past its grace) or whose storage failed under it, without spending an attempt.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from subject2video.config import Settings
from subject2video.errors import Failure
from subject2video.tasks import callbacks
from subject2video.tasks.events import Event, EventSink
from subject2video.tasks.status import (
    PEXIT_FAILED,
    PEXIT_SUCCEEDED,
    RUNNING,
    UNFINISHED,
    Outcome,
    Status,
)
from subject2video.tasks.store import Store, held_seconds

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recovery:
    """What `recover()` did with the tasks a dead worker held."""

    requeued: list[int]
    failed: list[int]


class Lifecycle:
    """Ends tasks: the store's final transition, the final event, the callback, in that order."""

    def __init__(self, settings: Settings, store: Store, publish: EventSink) -> None:
        self.settings = settings
        self.store = store
        self.publish = publish

    # -- the three endings ------------------------------------------------------------------

    def done(self, task_id: int, *, allowed_from: Iterable[Status], holder: str | None) -> bool:
        """The video is stored: end at task_postprocess_end with pexit "0"."""
        return self.end(
            task_id, Status.postprocess_end, allowed_from, holder, pexit=PEXIT_SUCCEEDED
        )

    def fail(
        self,
        task_id: int,
        reason: str,
        failure: Failure,
        *,
        allowed_from: Iterable[Status] = UNFINISHED,
        holder: str | None = None,
    ) -> bool:
        """End at task_postprocess_end with pexit "1", the reason a person reads, and its kind."""
        reason = " ".join(reason.split())
        return self.end(
            task_id,
            Status.postprocess_end,
            allowed_from,
            holder,
            pexit=PEXIT_FAILED,
            debugerror=reason,
            failure=failure.value,
        )

    def cancel(
        self,
        task_id: int,
        *,
        allowed_from: Iterable[Status] = UNFINISHED,
        holder: str | None = None,
        how: str = "killed",
    ) -> bool:
        """End at task_cancel: cancelled before it started, or killed."""
        ended = self.end(task_id, Status.cancel, allowed_from, holder, failure=Failure.killed.value)
        if ended:
            logger.info("task %s", how, extra={"task_id": task_id})
        return ended

    # -- the one function -------------------------------------------------------------------

    def end(
        self,
        task_id: int,
        to: Status,
        allowed_from: Iterable[Status],
        holder: str | None,
        **fields: Any,
    ) -> bool:
        """Make the final transition by compare-and-set; the winner publishes and enqueues."""
        if not to.is_final:
            raise ValueError(f"{to.value} is not a final status")
        # Usage: the seconds a worker held it, from its last claim to this ending.
        fields.setdefault("engine_seconds", held_seconds(time.time()))
        if not self.store.transition(
            task_id, to, allowed_from=allowed_from, holder=holder, **fields
        ):
            return False
        task = self.store.get(task_id)
        if task is None:  # deleted between the two statements: nothing left to announce
            return True
        if to == Status.cancel:
            self.publish(Event(to.value, task_id, task.token_digest))
        elif task.outcome == Outcome.succeeded:
            # No message: a listener that shows the outputs reads them in its own format.
            self.publish(Event(to.value, task_id, task.token_digest))
        else:
            self.publish(Event("task_error", task_id, task.token_digest, task.debugerror))
            self.publish(Event(to.value, task_id, task.token_digest, []))
        callbacks.enqueue(self.store, self.settings, task_id)
        return True

    # -- a stopped worker's task ----------------------------------------------------------------

    def release(self, task_id: int, *, holder: str | None = None, why: str) -> bool:
        """Put a running task back in the queue without spending an attempt: its worker was
        stopped (not dead), or storage failed under it. `holder` is the claim it ran under
        (None: whoever holds it). False if it was not running (it ended, or was released)."""
        status = self.store.status_of(task_id)
        if status is None or status not in RUNNING:
            return False
        if not self.store.requeue(task_id, status, holder=holder, refund=True):
            return False
        self.store.append_debug(task_id, f"{why} during {status.value}; back in the queue")
        task = self.store.get(task_id)
        if task is not None:
            self.publish(Event(Status.queue.value, task_id, task.token_digest))
        logger.warning("task put back in the queue: %s", why, extra={"task_id": task_id})
        return True

    # -- a dead worker's tasks --------------------------------------------------------------

    def recover(self, *, worker: str | None = None) -> Recovery:
        """Requeue the running tasks a dead worker held (every worker's, or `worker`'s); fail
        those that already used `S2V_TASK_MAX_ATTEMPTS` attempts."""
        requeued: list[int] = []
        failed: list[int] = []
        for task in self.store.unfinished():
            status = Status(task.status)
            if status not in RUNNING or (worker is not None and task.worker != worker):
                continue
            if task.attempts < self.settings.task_max_attempts:
                if self.store.requeue(task.id, status):
                    note = f"worker stopped during {status.value}; retrying "
                    self.store.append_debug(task.id, f"{note}(attempt {task.attempts + 1})")
                    requeued.append(task.id)
                continue
            reason = (
                f"the worker stopped while running this task {task.attempts} times; "
                "giving up (see the server log)"
            )
            if self.fail(task.id, reason, Failure.worker, allowed_from=[status]):
                failed.append(task.id)
        if requeued or failed:
            logger.warning(
                "recovered the tasks of a stopped worker",
                extra={"worker": worker or "any", "requeued": requeued, "failed": failed},
            )
        return Recovery(requeued=requeued, failed=failed)
