"""`s2v worker`: a Celery solo-pool worker that hands each task id to a supervised engine child.

The Celery process never touches the engine (or CUDA): the same supervisor as the embedded
deployment spawns a child that loads the engine once and runs the one runner. While a task runs, the
worker keeps its child's heartbeat alive in Redis and watches for a kill (the `s2v:kill` channel,
and the store's status as a fallback); a child that ignores a kill is ended after the grace period
and replaced, and the worker takes its next task. While its child is loaded and it is not
stopping, it announces its slot (`s2v:slots:<name>`): the API's fair sender sends only as many
tasks as the live slots take; each task's end wakes that sender.

Stopping is Celery's warm shutdown (SIGTERM, SIGINT, and SIGHUP here too): the running task
finishes, then the child is stopped gracefully (`Supervisor.stop`); a cold shutdown (a second
signal, SIGQUIT) puts the running task back in the queue without spending an attempt. The child
ignores these signals, so a signal to the whole process group does not end a task halfway.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from typing import Any

import redis
from celery import signals as celery_signals

from subject2video.config import Settings
from subject2video.stopping import STOP
from subject2video.tasks.bus import KILLS, RedisBus, Subscriber
from subject2video.tasks.dispatch.celery import RUN_TASK, make_celery, queue_name, worker_argv
from subject2video.tasks.dispatch.supervisor import Supervisor
from subject2video.tasks.status import Status
from subject2video.tasks.store import Store
from subject2video.tasks.workfiles import remove_work_files

logger = logging.getLogger(__name__)

#: How often the watch thread beats and looks for a kill in the store.
WATCH_SECONDS = 0.5


class WorkerProcess:
    """One `s2v worker`: Celery in front, an engine child behind, a heartbeat beside."""

    def __init__(self, settings: Settings) -> None:
        if not settings.events_url:
            raise ValueError("S2V_BROKER_URL (or S2V_REDIS_URL) must be set for `s2v worker`")
        self.settings = settings
        self.name = f"{socket.gethostname()}.{os.getpid()}"
        self.store = Store(settings.db_url, busy_timeout=settings.db_busy_timeout_seconds)
        self.bus = RedisBus(settings.events_url)
        self.supervisor = Supervisor(
            settings, self.store, self.bus.publish, prefix=f"celery@{self.name}"
        )
        self.kills = Subscriber(settings.events_url, KILLS, self._on_kill)
        self.queues: list[str] = []
        self._stop = threading.Event()
        self._watch = threading.Thread(target=self._watch_loop, name="s2v-watch", daemon=True)

    def run(self, queues: list[str]) -> None:
        """Start the child, then consume `queues` until the worker is stopped."""
        self.queues = queues
        app = make_celery(self.settings)
        app.task(name=RUN_TASK, bind=False, acks_late=True)(self.handle)
        celery_signals.worker_ready.connect(_hup_is_warm_shutdown, weak=False)
        celery_signals.worker_shutting_down.connect(_note_shutdown, weak=False)
        remove_work_files(self.settings)
        self.supervisor.start()
        self.kills.start()
        self._watch.start()
        logger.info("worker starting", extra={"worker": self.name, "queues": queues})
        try:
            app.worker_main(worker_argv(f"s2v@{self.name}", queues, self.settings.log_level))
        finally:
            self._stop.set()
            self.bus.drop_slots(self.name)
            self.kills.stop()
            self.supervisor.stop()
            self.store.dispose()

    def handle(self, task_id: int) -> None:
        """The Celery task: run `task_id` on the child; again if a dead child left it requeued."""
        try:
            self._run(task_id)
        finally:
            self.bus.wake_dispatcher()  # this worker's slot is free: the next task may be sent

    def _run(self, task_id: int) -> None:
        limit = self.settings.task_timeout_seconds + self.settings.kill_grace_seconds + 60
        for _ in range(self.settings.task_max_attempts + 1):
            if not self.supervisor.run_and_wait(task_id, limit):
                logger.error("task did not end in time", extra={"task_id": task_id})
                return
            if self.store.status_of(task_id) != Status.queue:
                return

    # -- beside the task --------------------------------------------------------------------

    def _on_kill(self, data: bytes) -> None:
        task_id = int(data)
        if self.supervisor.current == task_id:
            logger.info("kill received", extra={"task_id": task_id})
            self.supervisor.kill(task_id)

    def _watch_loop(self) -> None:
        beat = self.settings.worker_heartbeat_seconds
        announced = False
        while not self._stop.wait(WATCH_SECONDS):
            label = self.supervisor.label
            taking = self.supervisor.is_ready() and not STOP.graceful.is_set()
            try:
                if label is not None:
                    self.bus.beat(label, beat)
                if taking:
                    self.bus.beat_slots(self.name, self.queues, 1, beat)
                    if not announced:  # a new slot: tasks waiting for one may be sent now
                        self.bus.wake_dispatcher()
                elif announced:
                    self.bus.drop_slots(self.name)
                announced = taking
            except redis.RedisError as exc:
                logger.warning("heartbeat failed: %s", exc)
            current = self.supervisor.current
            try:
                if current is not None and self.store.status_of(current) == Status.cancel:
                    self.supervisor.kill(current)
            except Exception:
                logger.exception("kill check failed", extra={"task_id": current})


def _hup_is_warm_shutdown(**_kwargs: Any) -> None:
    """Celery restarts on SIGHUP; a server stops gracefully on it, like on SIGTERM."""
    try:
        signal.signal(signal.SIGHUP, signal.getsignal(signal.SIGTERM))
    except (ValueError, TypeError):  # not the main thread, or no Python handler to copy
        logger.warning("SIGHUP left to Celery's default")


def _note_shutdown(how: str = "", **_kwargs: Any) -> None:
    """Warm: the running task finishes. Cold: the child stops at once, the task is put back."""
    STOP.graceful.set()
    if how.lower().startswith("cold"):
        STOP.immediate.set()


def worker_main(settings: Settings, queues: list[str] | None = None) -> None:
    """Entry point of `s2v worker`."""
    WorkerProcess(settings).run(queues or [queue_name(settings.engine)])
