"""The whole server in this process: the app factory's API over an in-process ASGI transport, a
real store in a temporary directory, and a real worker (the `Runner` with a real engine) on a
thread instead of an engine process.

`InProcessDispatcher` is a `Dispatcher` as `s2v serve`'s local one is, minus the process: tasks
queue in memory and one thread runs them, oldest first, with the runner every worker uses; a kill
reaches the running task through the runner's kill flag. Nothing about a task's life is replaced.
"""

from __future__ import annotations

import logging
import queue
import threading

from subject2video.config import Settings
from subject2video.engines.registry import create_engine
from subject2video.media.detector import get_detector
from subject2video.tasks.events import EventSink
from subject2video.tasks.runner import Runner
from subject2video.tasks.store import Store
from subject2video.tasks.worker import run_patiently

logger = logging.getLogger(__name__)


class InProcessDispatcher:
    """One worker thread running the settings' engine on the tasks submitted, in order."""

    def __init__(self, settings: Settings, store: Store, publish: EventSink) -> None:
        self.settings = settings
        self.store = store
        self.publish = publish
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._killed: set[int] = set()
        self._thread: threading.Thread | None = None
        self.runner: Runner | None = None

    def start(self) -> None:
        engine = create_engine(self.settings.engine, self.settings)
        engine.setup()
        self.runner = Runner(
            self.settings,
            self.store,
            engine,
            publish=self.publish,
            kill_flag=self._killed.__contains__,
            worker="inprocess-1",
            detector=get_detector(),
        )
        for task_id in self.store.queued_ids():
            self._queue.put(task_id)
        self._thread = threading.Thread(target=self._work, name="s2v-inprocess", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=30)

    def submit(self, task_id: int) -> None:
        self._queue.put(task_id)

    def kill(self, task_id: int) -> None:
        self._killed.add(task_id)

    def is_ready(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _work(self) -> None:
        assert self.runner is not None
        while (task_id := self._queue.get()) is not None:
            run_patiently(self.runner, task_id)
