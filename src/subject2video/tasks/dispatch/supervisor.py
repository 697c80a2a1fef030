"""The supervisor of an engine process: start it, feed it task ids, kill it, replace it.

One engine process (multiprocessing, spawn) loads the engine once and runs tasks one at a time
(tasks/worker.py). The supervisor, in the parent, reads the child's events, enforces a kill the
child ignored (ends the process after the grace period, ends the task, starts a new child) and
replaces a child that died, recovering the tasks it held (lifecycle.recover).

It never gives up on having a child: a failure of its own bookkeeping (the store down while it
recovers a dead child's tasks, a child that cannot be started) is logged and tried again, and the
reading thread carries on. A stop is graceful (`stop`): the child takes no new task and may finish
the running one within the grace period; past it, or at a second signal, the child is ended and
the task goes back to the queue without spending an attempt.

The embedded deployment's `LocalDispatcher` runs one, fed from the store; each `s2v worker` of the
scale-out deployment runs one, fed by Celery through `run_and_wait`.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterable
from multiprocessing import resource_tracker
from typing import Any

from subject2video.config import Settings
from subject2video.stopping import STOP
from subject2video.tasks.events import Event, EventSink
from subject2video.tasks.lifecycle import Lifecycle
from subject2video.tasks.store import Store
from subject2video.tasks.worker import local_worker_main
from subject2video.tasks.workfiles import remove_work_files

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
        #: Set when a stop begins: no child is started or replaced from then on.
        self._stopping = threading.Event()
        #: Set when the stop is over: the reading thread ends.
        self._closed = threading.Event()
        #: Dead children whose tasks could not be recovered yet (the store failed).
        self._unrecovered: list[str] = []
        self._feed_pending = False
        self._halt: Any = None
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
        _start_resource_tracker()
        self._spawn()
        self._reader = threading.Thread(target=self._read_events, name="s2v-dispatch", daemon=True)
        self._reader.start()

    def is_ready(self) -> bool:
        """Whether a child has loaded its engine and takes tasks."""
        return self.ready.is_set()

    def stop(self, grace: float | None = None) -> None:
        """Stop gracefully: the child takes no new task and may finish the running one within
        `grace` seconds (default `S2V_STOP_GRACE_SECONDS`); past it, or once a second signal
        asks for an immediate stop, the child is ended and its task put back in the queue
        without spending an attempt (it resumes at the next start)."""
        grace = self.settings.stop_grace if grace is None else grace
        self._stopping.set()
        with self._lock:
            proc, current = self._proc, self._current
            if self._halt is not None:
                self._halt.value = 1
        if proc is not None and proc.is_alive():
            if current is not None:
                logger.info(
                    "stopping: the running task may finish",
                    extra={"task_id": current, "grace_seconds": grace},
                )
            deadline = time.monotonic() + grace
            while proc.is_alive() and time.monotonic() < deadline and not STOP.immediate.is_set():
                proc.join(0.1)
            if proc.is_alive():
                self._interrupt(proc)
        self._closed.set()
        if self._reader is not None:
            self._reader.join(timeout=2)

    def _interrupt(self, proc: Any) -> None:
        """End the child now; put the task it ran back in the queue, no attempt spent."""
        task_id = self._current
        proc.kill()
        proc.join(5)
        with self._lock:  # a Celery task waiting on the child is let go
            for waiting in list(self._waiting):
                self._let_go(waiting)
        if task_id is None:
            return
        remove_work_files(self.settings, task_id)
        try:
            self.lifecycle.release(task_id, why="the server stopped")
        except Exception:  # the store failed too: recovery at the next start counts it
            logger.exception("task not put back at stop", extra={"task_id": task_id})

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
            self._halt = self._ctx.RawValue("b", 0)
            self._current = None
            self.ready.clear()
            settings_data = self.settings.model_dump()
            self._proc = self._ctx.Process(
                target=local_worker_main,
                args=(settings_data, self._tasks, self._events, self._kill, self.prefix),
                kwargs={"halt": self._halt},
                name="s2v-worker",
                daemon=True,
            )
            try:
                self._proc.start()
            except OSError:
                logger.exception("worker could not be started; trying again")
                self._proc = None
                return
            self._feed_pending = self.feed is not None
            self._feed()
        logger.info("worker started", extra={"pid": self._proc.pid})

    def _feed(self) -> None:
        """Give the child every queued task (the store is the queue); tried again while the
        store cannot say which they are."""
        if not self._feed_pending or self.feed is None:
            return
        try:
            task_ids = list(self.feed())
        except Exception as exc:
            logger.warning("queued tasks not read; trying again: %s", exc)
            return
        self._feed_pending = False
        for task_id in task_ids:
            self._tasks.put(task_id)

    def _read_events(self) -> None:
        while not self._closed.is_set():
            try:
                self._read_once()
            except Exception:
                # The supervisor's own bookkeeping failed (the store, most likely): carry on.
                logger.exception("supervisor bookkeeping failed; carrying on")
                time.sleep(0.5)

    def _read_once(self) -> None:
        """Read one event of the child; replace a child that died; catch up on what failed."""
        with self._lock:
            events, proc = self._events, self._proc
        if proc is None:  # the last start failed
            if not self._stopping.is_set():
                time.sleep(1.0)
                self._spawn()
            return
        try:
            item = events.get(timeout=0.2)
        except queue.Empty:
            if not proc.is_alive() and not self._stopping.is_set():
                self._worker_died(proc)
            self._catch_up()
            return
        except (EOFError, OSError):
            time.sleep(0.05)
            return
        self._handle(item)

    def _catch_up(self) -> None:
        """Retry what the store refused earlier: recovering dead children, feeding the queue."""
        if self._feed_pending and not self._stopping.is_set():
            with self._lock:
                self._feed()
        while self._unrecovered:
            self.lifecycle.recover(worker=self._unrecovered[0])
            self._unrecovered.pop(0)

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
            remove_work_files(self.settings, task_id)
            try:
                # Usually the API already ended it (task_cancel); this ends it if it did not.
                self.lifecycle.cancel(task_id)
            except Exception:
                logger.exception("killed task not ended", extra={"task_id": task_id})
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
            label = f"{self.prefix}-{proc.pid}"
            if self._current is not None:
                remove_work_files(self.settings, self._current)
            try:
                self.lifecycle.recover(worker=label)
            except Exception as exc:  # the store failed: recover later, replace the child now
                logger.warning("dead worker's tasks not recovered yet: %s", exc)
                self._unrecovered.append(label)
            for waiting in list(self._waiting):
                self._let_go(waiting)
            self._spawn()

    def _let_go(self, task_id: int) -> None:
        """Wake `run_and_wait`: the child no longer holds `task_id`. Call with the lock held."""
        self._finished.add(task_id)
        self._done.notify_all()


def _start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker with SIGHUP ignored (it ignores SIGINT and SIGTERM
    by itself): a SIGHUP to the process group must not end it, or it is relaunched and its
    bookkeeping lost (tracebacks at exit)."""
    if threading.current_thread() is not threading.main_thread():
        resource_tracker.ensure_running()
        return
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        resource_tracker.ensure_running()
    finally:
        signal.signal(signal.SIGHUP, previous)
