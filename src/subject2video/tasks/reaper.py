"""The reaper: no task stays unfinished because a worker machine died or a message was lost.

Every API replica runs one. Each sweep: (1) a running task whose worker's heartbeat has lapsed for
longer than its lifetime is requeued through `lifecycle.recover(worker=...)` and sent again (after
`S2V_TASK_MAX_ATTEMPTS` it fails with a reason): `submit` is the Celery dispatcher's resend, which
goes through the fair sender; (2) unless `resend_unsent` is off (the fair sender does it), a
queued task that no sent-mark covers (the API died between commit and send, or Redis restarted
empty) is sent again. Replicas may race: recovery
is a compare-and-set, and a duplicate message finds the task claimed and is skipped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

import redis

from subject2video.config import Settings
from subject2video.tasks.events import Event
from subject2video.tasks.lifecycle import Lifecycle
from subject2video.tasks.status import RUNNING, Status
from subject2video.tasks.store import Store

logger = logging.getLogger(__name__)


class HeartbeatBus(Protocol):
    """What the reaper needs of the bus (tasks.bus.RedisBus): events, heartbeats, sent-marks."""

    def publish(self, event: Event) -> None: ...

    def alive(self, workers: list[str]) -> dict[str, bool]: ...

    def sent(self, task_ids: list[int]) -> dict[int, bool]: ...


class Reaper:
    """Finds tasks of dead workers and unsent tasks, and sends them again."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        bus: HeartbeatBus,
        submit: Callable[[int], None],
        *,
        interval: float | None = None,
        resend_unsent: bool = True,
    ) -> None:
        self.settings = settings
        self.store = store
        self.bus = bus
        self.submit = submit
        #: Whether a sweep sends queued tasks no sent-mark covers (False where a dispatcher on
        #: the store sends them when a worker slot frees: tasks/dispatch/sender.py).
        self.resend_unsent = resend_unsent
        self.lifecycle = Lifecycle(settings, store, bus.publish)
        self.interval = interval or min(1.0, settings.worker_heartbeat_seconds / 3)
        #: Worker name -> when its heartbeat was first seen missing.
        self._missing: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="s2v-reaper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=3)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sweep()
            except redis.RedisError as exc:
                logger.warning("reaper: redis unavailable (%s)", exc)
            except Exception:
                logger.exception("reaper sweep failed; retrying")

    def sweep(self, now: float | None = None) -> None:
        """One pass: recover tasks of dead workers, resend unsent queued tasks."""
        now = time.time() if now is None else now
        tasks = self.store.unfinished()
        held = sorted({t.worker for t in tasks if Status(t.status) in RUNNING and t.worker})
        for worker, alive in self.bus.alive(held).items():
            if alive:
                self._missing.pop(worker, None)
                continue
            first = self._missing.setdefault(worker, now)
            if now - first >= self.settings.worker_heartbeat_seconds:
                self._recover(worker)
                self._missing.pop(worker, None)
        for worker in list(self._missing):
            if worker not in held:
                del self._missing[worker]
        if not self.resend_unsent:
            return
        stale = [
            t.id
            for t in tasks
            if t.status == Status.queue.value
            and t.input_path is not None  # a URL input still fetching is the API's, not sent
            and now - t.createtime >= self.settings.resubmit_after_seconds
        ]
        for task_id, sent in self.bus.sent(stale).items():
            if not sent:
                logger.info("resending a queued task", extra={"task_id": task_id})
                self.submit(task_id)

    def _recover(self, worker: str) -> None:
        """The worker is gone: its tasks go back to the queue (or fail, past their attempts)."""
        recovery = self.lifecycle.recover(worker=worker)
        for task_id in recovery.requeued:
            task = self.store.get(task_id)
            if task is not None:
                self.bus.publish(Event(Status.queue.value, task_id, task.socketaccesstoken))
            self.submit(task_id)
