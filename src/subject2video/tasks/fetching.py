"""The fetch stage: URLs fetched where no request handler and no engine waits on them.

A URL input is fetched on threads of its own (`THREADS`, never the server's shared thread pool,
which also authenticates requests), at most `PER_PROJECT` at once for one project (the others of
that project wait, asynchronously, holding no thread), each attempt within the guarded fetcher's
total deadline (`S2V_FETCH_TIMEOUT_SECONDS`). So one project's trickling image host delays only
that project's fetches. `POST /v1/Face/Detect` fetches here, and so does Run: a task with an image
or voice URL stays queued, with no input stored, while they are fetched here (tasks/inputs.py);
only then is it sent to the workers, and a worker only ever claims a task whose inputs are stored.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from subject2video.config import Settings
from subject2video.media.fetch import FetchPolicy, fetch

#: Fetches at once, in all; for one project.
THREADS = 32
PER_PROJECT = 4

T = TypeVar("T")


class FetchStage:
    """Fetches URLs for projects, each project within its own limit."""

    def __init__(self, settings: Settings, *, per_project: int = PER_PROJECT) -> None:
        self.policy = FetchPolicy.from_settings(settings)
        self.per_project = per_project
        self._pool = ThreadPoolExecutor(THREADS, thread_name_prefix="s2v-fetch")
        self._lock = threading.Lock()
        #: Per project: fetches on a thread now, and those waiting for one (holding no thread).
        self._active: dict[int, int] = {}
        self._waiting: dict[int, deque[tuple[Callable[[], Any], Future[Any]]]] = {}
        self._closed = False

    def submit(self, project_id: int, job: Callable[[], T]) -> Future[T]:
        """Run `job` (a fetch) on the stage's threads within `project_id`'s limit; from any
        thread. A job still waiting when the stage closes is cancelled."""
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                future.cancel()
                return future
            self._waiting.setdefault(project_id, deque()).append((job, future))
            self._start_next(project_id)
        return future

    async def fetch(self, project_id: int, url: str, *, parameter: str) -> bytes:
        """The bytes at `url` (FetchError, an InputError, naming `parameter`, when not)."""
        job = functools.partial(fetch, url, self.policy, parameter=parameter)
        return await asyncio.wrap_future(self.submit(project_id, job))

    def close(self) -> None:
        with self._lock:
            self._closed = True
            waiting = [future for jobs in self._waiting.values() for _, future in jobs]
            self._waiting.clear()
        for future in waiting:
            future.cancel()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _start_next(self, project_id: int) -> None:
        """Start the project's next waiting job if it is under its limit (lock held)."""
        jobs = self._waiting.get(project_id)
        while jobs and self._active.get(project_id, 0) < self.per_project:
            job, future = jobs.popleft()
            if not future.set_running_or_notify_cancel():
                continue
            self._active[project_id] = self._active.get(project_id, 0) + 1
            self._pool.submit(self._run, project_id, job, future)
        if not jobs:
            self._waiting.pop(project_id, None)

    def _run(self, project_id: int, job: Callable[[], Any], future: Future[Any]) -> None:
        try:
            result = job()
        except BaseException as exc:
            future.set_exception(exc)
        else:
            future.set_result(result)
        finally:
            with self._lock:
                self._active[project_id] -= 1
                if not self._active[project_id]:
                    del self._active[project_id]
                if not self._closed:
                    self._start_next(project_id)
