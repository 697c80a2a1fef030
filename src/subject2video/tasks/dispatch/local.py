"""The embedded deployment's dispatcher: N engine processes beside the API, fed from the store.

The store stays the source of truth. Task ids wait in one fair queue in the API process (per
project, taken round-robin across projects, at most `S2V_MAX_RUNNING_PER_PROJECT` running per
project: fair.py); N feeder threads, one per engine process (`S2V_WORKERS`, see `sizing`), each
take an id and hand it to their own supervisor with `run_and_wait`, as each `s2v worker` does
under Celery, so a task waits for whichever worker frees first and a dead worker's queue never
strands a task. A task that a dead worker left requeued is run again by the same feeder, on that
worker's replacement. At start-up the tasks a previous run left running are recovered first
(requeued, or failed after `S2V_TASK_MAX_ATTEMPTS`), the work files a stop or a crash left are
removed, then every queued
task is put in the queue. A stop is graceful for every worker at once (`Supervisor.stop`).
"""

from __future__ import annotations

import logging
import threading

from subject2video.config import Settings
from subject2video.errors import StorageError
from subject2video.tasks.dispatch.fair import FairQueue
from subject2video.tasks.dispatch.sizing import worker_plan
from subject2video.tasks.dispatch.supervisor import Supervisor
from subject2video.tasks.events import EventSink
from subject2video.tasks.lifecycle import Lifecycle
from subject2video.tasks.status import Status
from subject2video.tasks.store import Store
from subject2video.tasks.workfiles import remove_work_files

logger = logging.getLogger(__name__)


class LocalDispatcher:
    """The `Dispatcher` of `s2v serve` without a broker: N supervised local engine processes."""

    def __init__(
        self, settings: Settings, store: Store, publish: EventSink, *, workers: int | None = None
    ) -> None:
        self.settings = settings
        self.store = store
        self.lifecycle = Lifecycle(settings, store, publish)
        self.plan = worker_plan(settings, workers)
        self.supervisors = [
            Supervisor(child_settings, store, publish, prefix="local")
            for child_settings in self.plan.child_settings(settings)
        ]
        self._queue = FairQueue(self._project_of, cap=settings.max_running_per_project)
        self._stopping = threading.Event()
        self._feeders: list[threading.Thread] = []

    @property
    def supervisor(self) -> Supervisor:
        """The first worker's supervisor (the only one with `--workers 1`)."""
        return self.supervisors[0]

    def start(self) -> None:
        """Recover what a previous run left, start the engine processes, queue the queued tasks."""
        self.lifecycle.recover()
        removed = remove_work_files(self.settings)
        if removed:
            logger.info("work files of a previous run removed", extra={"count": removed})
        logger.info(
            "starting %d worker processes (%s)",
            len(self.supervisors),
            self.plan.reason,
            extra={"workers": len(self.supervisors)},
        )
        for index, supervisor in enumerate(self.supervisors):
            supervisor.start()
            feeder = threading.Thread(
                target=self._feed, args=(supervisor,), name=f"s2v-feed-{index}", daemon=True
            )
            feeder.start()
            self._feeders.append(feeder)
        for task_id in self.store.queued_ids():
            self._queue.put(task_id)

    def stop(self) -> None:
        """Stop gracefully, every worker at once: a running task may finish within
        `S2V_STOP_GRACE_SECONDS`, else it goes back to the queue (no attempt spent) and resumes
        at the next start."""
        self._stopping.set()
        for _ in self._feeders:
            self._queue.stop_one()
        stops = [
            threading.Thread(target=supervisor.stop, name=f"s2v-stop-{index}")
            for index, supervisor in enumerate(self.supervisors)
        ]
        for thread in stops:
            thread.start()
        for thread in stops:
            thread.join()

    def submit(self, task_id: int) -> None:
        self._queue.put(task_id)

    def kill(self, task_id: int) -> None:
        """Tell the worker running `task_id`; one still loading it sees the store's task_cancel."""
        for supervisor in self.supervisors:
            if supervisor.current == task_id:
                supervisor.kill(task_id)

    def running(self) -> set[int]:
        """The tasks this server's engine processes hold now."""
        return {s.current for s in self.supervisors if s.current is not None}

    def is_ready(self) -> bool:
        """Whether at least one engine process has loaded its engine and takes tasks."""
        return any(supervisor.is_ready() for supervisor in self.supervisors)

    # -- one feeder per worker ----------------------------------------------------------------

    def _feed(self, supervisor: Supervisor) -> None:
        """Take task ids from the shared queue and run each on this worker, one at a time."""
        while not self._stopping.is_set():
            taken = self._queue.get()
            if taken is None or self._stopping.is_set():
                return
            task_id, project = taken
            try:
                self._run(supervisor, task_id)
            except Exception:
                logger.exception("feeding a task to a worker failed", extra={"task_id": task_id})
            finally:
                self._queue.done(project)

    def _project_of(self, task_id: int) -> int | None:
        try:
            task = self.store.get(task_id)
        except StorageError:
            return None
        return task.project_id if task is not None else None

    def _run(self, supervisor: Supervisor, task_id: int) -> None:
        """Run `task_id` on `supervisor`'s child; again (on its replacement) if a dead child left
        it requeued. A task no longer queued (taken, cancelled, ended) is let go at once."""
        limit = self.settings.task_timeout_seconds + self.settings.kill_grace_seconds + 60
        for _ in range(self.settings.task_max_attempts + 1):
            if self._stopping.is_set() or self.store.status_of(task_id) != Status.queue:
                return
            if not supervisor.run_and_wait(task_id, limit):
                logger.error("task did not end in time", extra={"task_id": task_id})
                return
