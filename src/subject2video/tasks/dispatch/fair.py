"""Fair queueing across projects, for both deployments' dispatchers.

Queued task ids wait per project; a worker that frees takes the next task round-robin across the
projects that have one waiting: the project served longest ago goes first (one that was never
served, or joins the round now, before those that were), so a project that queues many tasks
delays another project's next task by at most the tasks already running, not by its backlog. A
project's own tasks keep their order (first in, first out). With `S2V_MAX_RUNNING_PER_PROJECT`
set, a project never has more than that many tasks running at once; its next task waits while
others' run.

The embedded dispatcher (local.py) blocks on `get` and reports each end with `done`; the scale-out
sender (sender.py) fills the queue from the store, sets the running counts it read there
(`set_running`) and takes without blocking (`take`) while a worker slot is free.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable

#: The bucket of a task whose project could not be read (the store away): served like a project.
UNKNOWN_PROJECT = -1
#: Projects whose last turn is remembered; past it, those with nothing waiting or running are
#: forgotten (they count as never served, which only puts them first once more).
MAX_REMEMBERED = 10_000


class FairQueue:
    """Task ids by project, taken round-robin across projects, each project's in order."""

    def __init__(
        self, project_of: Callable[[int], int | None] | None = None, *, cap: int = 0
    ) -> None:
        #: Reads a task's project when `put` is not told it.
        self.project_of = project_of
        #: Most tasks running at once per project (0: no limit).
        self.cap = cap
        self._cond = threading.Condition()
        #: Waiting tasks by project, projects in the order they started waiting.
        self._waiting: dict[int, deque[int]] = {}
        #: When each project was last served (a count of tasks taken); never: 0.
        self._served: dict[int, int] = {}
        self._taken = 0
        self._queued: set[int] = set()
        self._running: Counter[int] = Counter()
        self._stops = 0

    def put(self, task_id: int, project: int | None = None) -> None:
        """Queue `task_id` of `project` (read with `project_of` when not given), once: a task
        already waiting is not queued twice."""
        if project is None and self.project_of is not None:
            project = self.project_of(task_id)
        project = UNKNOWN_PROJECT if project is None else project
        with self._cond:
            if task_id in self._queued:
                return
            self._queued.add(task_id)
            self._waiting.setdefault(project, deque()).append(task_id)
            self._cond.notify()

    def stop_one(self) -> None:
        """Make one `get` return None (one feeder ends)."""
        with self._cond:
            self._stops += 1
            self._cond.notify_all()

    def get(self) -> tuple[int, int] | None:
        """The next task and its project, blocking until there is one; None to stop. Call
        `done(project)` when the task has ended."""
        with self._cond:
            while True:
                if self._stops:
                    self._stops -= 1
                    return None
                taken = self._take()
                if taken is not None:
                    return taken
                self._cond.wait()

    def take(self) -> tuple[int, int] | None:
        """The next task and its project if one may start now (None: none waits, or every
        waiting project is at its cap); counted as running until `done` or `set_running`."""
        with self._cond:
            return self._take()

    def retain(self, task_ids: set[int]) -> None:
        """Forget the waiting tasks not in `task_ids` (cancelled, or sent by another holder)."""
        with self._cond:
            for project in list(self._waiting):
                kept = deque(t for t in self._waiting[project] if t in task_ids)
                if kept:
                    self._waiting[project] = kept
                else:
                    del self._waiting[project]
            self._queued &= task_ids

    def set_running(self, running: Counter[int]) -> None:
        """Replace the count of running tasks per project (read from the store)."""
        with self._cond:
            self._running = Counter({p: n for p, n in running.items() if n > 0})
            self._cond.notify_all()

    def done(self, project: int) -> None:
        with self._cond:
            self._running[project] -= 1
            if self._running[project] <= 0:
                del self._running[project]
            self._cond.notify_all()

    def waiting(self) -> int:
        with self._cond:
            return len(self._queued)

    def _take(self) -> tuple[int, int] | None:
        ready = [p for p in self._waiting if not self.cap or self._running[p] < self.cap]
        if not ready:
            return None
        project = min(ready, key=lambda p: self._served.get(p, 0))  # ties: longest waiting
        tasks = self._waiting[project]
        task_id = tasks.popleft()
        if not tasks:
            del self._waiting[project]
        self._queued.discard(task_id)
        self._running[project] += 1
        self._taken += 1
        self._served[project] = self._taken
        if len(self._served) > MAX_REMEMBERED:
            busy = set(self._waiting) | set(self._running)
            self._served = {p: n for p, n in self._served.items() if p in busy}
        return task_id, project
