"""The supervisor of an engine process: start it, feed it task ids, kill it, replace it.

One engine process (multiprocessing, spawn) loads the engine once and runs tasks one at a time
(tasks/worker.py). The supervisor, in the parent, reads the child's events, enforces a kill the
child ignored (ends the process after the grace period, ends the task, starts a new child) and
replaces a child that died, recovering the tasks it held (lifecycle.recover).

The embedded deployment's `LocalDispatcher` runs one, fed from the store; each `s2v worker` of the
scale-out deployment runs one, fed by Celery through `run_and_wait`.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from subject2video.config import Settings
from subject2video.tasks.events import Event, EventSink
from subject2video.tasks.lifecycle import Lifecycle
from subject2video.tasks.store import Store
from subject2video.tasks.worker import local_worker_main

logger = logging.getLogger(__name__)


class Supervisor:
    """Owns one engine process and replaces it when it dies or must be killed."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        publish: EventSink,
        *,
        prefix: str = "local",
        feed: Callable[[], Iterable[int]] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.publish = publish
        self.lifecycle = Lifecycle(settings, store, publish)
        #: The child's name in the store is `<prefix>-<pid>`: what recovery looks for.
        self.prefix = prefix
        #: The task ids each new child is given first (the embedded deployment: every queued
        #: task, since the store is its queue); None where a broker hands out the work.
        self.feed = feed
        self._ctx = mp.get_context("spawn")
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._proc: Any = None
        self._tasks: Any = None
        self._events: Any = None
        self._kill: Any = None
        self._current: int | None = None
        self._reader: threading.Thread | None = None
        self._done = threading.Condition(self._lock)
        self._finished: set[int] = set()
        self._waiting: set[int] = set()
        self.ready = threading.Event()

    # -- the process ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the child and the thread that reads its events."""
        self._spawn()
        self._reader = threading.Thread(target=self._read_events, name="s2v-dispatch", daemon=True)
        self._reader.start()

    def is_ready(self) -> bool:
        """Whether a child has loaded its engine and takes tasks."""
        return self.ready.is_set()

    def stop(self, timeout: float = 3.0) -> None:
        """Stop the child; a task it was running is retried at the next start."""
        self._stopping.set()
        with self._lock:
            proc = self._proc
            if proc is not None and proc.is_alive():
                self._tasks.put(None)
                proc.join(timeout if self._current is None else 0.2)
                if proc.is_alive():
                    proc.kill()
                    proc.join(5)
        if self._reader is not None:
            self._reader.join(timeout=2)

    # -- work -----------------------------------------------------------------------------------

    def submit(self, task_id: int) -> None:
        with self._lock:
            self._tasks.put(task_id)

    def kill(self, task_id: int) -> None:
        """Ask the worker to drop `task_id`; end the worker if it has not after the grace period."""
        with self._lock:
            if self._current != task_id or self._kill.value == task_id:
                return
            self._kill.value = task_id
        timer = threading.Timer(self.settings.kill_grace_seconds, self._enforce_kill, (task_id,))
        timer.daemon = True
        timer.start()

    def run_and_wait(self, task_id: int, timeout: float) -> bool:
        """Hand `task_id` to the child and wait until it let go of it (done, killed or died)."""
        with self._done:
            self._finished.discard(task_id)
            self._waiting.add(task_id)
            self._tasks.put(task_id)
            try:
                return self._done.wait_for(lambda: task_id in self._finished, timeout)
            finally:
                self._waiting.discard(task_id)
                self._finished.discard(task_id)

    @property
    def label(self) -> str | None:
        """The running child's worker name in the store."""
        return f"{self.prefix}-{self._proc.pid}" if self._proc is not None else None

    @property
    def current(self) -> int | None:
        return self._current

    @property
    def worker_pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    # -- internals --------------------------------------------------------------------------

    def _spawn(self) -> None:
        """Start a worker with fresh queues (a killed process can leave a queue's lock held)."""
        with self._lock:
            self._tasks = self._ctx.Queue()
            self._events = self._ctx.Queue()
            self._kill = self._ctx.RawValue("q", -1)
            self._current = None
            self.ready.clear()
            settings_data = self.settings.model_dump()
            self._proc = self._ctx.Process(
                target=local_worker_main,
                args=(settings_data, self._tasks, self._events, self._kill, self.prefix),
                name="s2v-worker",
                daemon=True,
            )
            self._proc.start()
            if self.feed is not None:
                for task_id in self.feed():
                    self._tasks.put(task_id)
        logger.info("worker started", extra={"pid": self._proc.pid})

    def _read_events(self) -> None:
        while not self._stopping.is_set():
            events, proc = self._events, self._proc
            try:
                item = events.get(timeout=0.2)
            except queue.Empty:
                if not proc.is_alive() and not self._stopping.is_set():
                    self._worker_died(proc)
                continue
            except (EOFError, OSError):
                time.sleep(0.05)
                continue
            self._handle(item)

    def _handle(self, item: dict[str, Any]) -> None:
        kind = item.pop("kind")
        if kind == "event":
            self.publish(Event.from_dict(item))
        elif kind == "busy":
            self._current = item["task_id"]
        elif kind == "idle":
            with self._lock:
                self._current = None
                self._kill.value = -1
                self._let_go(item["task_id"])
        elif kind == "ready":
            self.ready.set()

    def _enforce_kill(self, task_id: int) -> None:
        with self._lock:
            if self._current != task_id or self._stopping.is_set():
                return
            logger.warning("worker ignored a kill; ending it", extra={"task_id": task_id})
            proc = self._proc
            proc.kill()
            proc.join(5)
            # Usually the API already ended it (task_cancel); this ends it if it did not.
            self.lifecycle.cancel(task_id)
            self._let_go(task_id)
            self._spawn()

    def _worker_died(self, proc: Any) -> None:
        with self._lock:
            if proc is not self._proc:
                return
            logger.error(
                "worker died",
                extra={"pid": proc.pid, "exitcode": proc.exitcode, "task_id": self._current},
            )
            self.lifecycle.recover(worker=f"{self.prefix}-{proc.pid}")
            for waiting in list(self._waiting):
                self._let_go(waiting)
            self._spawn()

    def _let_go(self, task_id: int) -> None:
        """Wake `run_and_wait`: the child no longer holds `task_id`. Call with the lock held."""
        self._finished.add(task_id)
        self._done.notify_all()
