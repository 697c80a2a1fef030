"""The embedded deployment's dispatcher: one engine process beside the API, fed from the store.

The store stays the source of truth: the queue to the child carries task ids only, and each new
child (at start, after a death, after a kill it ignored) is given every queued task again. At
start-up the tasks a previous run left running are recovered first (requeued, or failed after
`S2V_TASK_MAX_ATTEMPTS`), and the work files a stop or a crash left are removed.
"""

from __future__ import annotations

import logging

from subject2video.config import Settings
from subject2video.tasks.dispatch.supervisor import Supervisor
from subject2video.tasks.events import EventSink
from subject2video.tasks.lifecycle import Lifecycle
from subject2video.tasks.store import Store
from subject2video.tasks.workfiles import remove_work_files

logger = logging.getLogger(__name__)


class LocalDispatcher:
    """The `Dispatcher` of `s2v serve` without a broker: a supervised local engine process."""

    def __init__(self, settings: Settings, store: Store, publish: EventSink) -> None:
        self.lifecycle = Lifecycle(settings, store, publish)
        self.supervisor = Supervisor(
            settings, store, publish, prefix="local", feed=store.queued_ids
        )

    def start(self) -> None:
        """Recover what a previous run left, then start the engine process."""
        self.lifecycle.recover()
        removed = remove_work_files(self.supervisor.settings)
        if removed:
            logger.info("work files of a previous run removed", extra={"count": removed})
        self.supervisor.start()

    def stop(self) -> None:
        """Stop gracefully: the running task may finish within `S2V_STOP_GRACE_SECONDS`, else it
        goes back to the queue (no attempt spent) and resumes at the next start."""
        self.supervisor.stop()

    def submit(self, task_id: int) -> None:
        self.supervisor.submit(task_id)

    def kill(self, task_id: int) -> None:
        self.supervisor.kill(task_id)

    def is_ready(self) -> bool:
        return self.supervisor.is_ready()
