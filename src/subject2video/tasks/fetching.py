"""The fetch stage: image URLs fetched where no request handler and no engine waits on them.

A URL input is fetched on threads of its own (`THREADS`, never the server's shared thread pool,
which also authenticates requests), at most `PER_PROJECT` at once for one project (the others of
that project wait, asynchronously, holding no thread), each attempt within the guarded fetcher's
total deadline (`S2V_FETCH_TIMEOUT_SECONDS`). So one project's trickling image host delays only
that project's fetches. `POST /v1/Face/Detect` fetches here.
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor

from subject2video.config import Settings
from subject2video.media.fetch import FetchPolicy, fetch

#: Fetches at once, in all; for one project.
THREADS = 32
PER_PROJECT = 4


class FetchStage:
    """Fetches URLs for projects, each project within its own limit."""

    def __init__(self, settings: Settings, *, per_project: int = PER_PROJECT) -> None:
        self.policy = FetchPolicy.from_settings(settings)
        self.per_project = per_project
        self._pool = ThreadPoolExecutor(THREADS, thread_name_prefix="s2v-fetch")
        self._limits: dict[int, asyncio.Semaphore] = {}

    async def fetch(self, project_id: int, url: str, *, parameter: str) -> bytes:
        """The bytes at `url` (FetchError, an InputError, naming `parameter`, when not)."""
        limit = self._limits.setdefault(project_id, asyncio.Semaphore(self.per_project))
        async with limit:
            loop = asyncio.get_running_loop()
            job = functools.partial(fetch, url, self.policy, parameter=parameter)
            return await loop.run_in_executor(self._pool, job)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
