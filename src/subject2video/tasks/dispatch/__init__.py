"""Dispatchers hand task ids to workers: `local` (a worker process of `s2v serve`), `celery`."""

from __future__ import annotations

from typing import Protocol


class Dispatcher(Protocol):
    """Moves task ids to workers and reaches a running task to kill it."""

    def start(self) -> None: ...

    def submit(self, task_id: int) -> None: ...

    def kill(self, task_id: int) -> None: ...

    def stop(self) -> None: ...

    def is_ready(self) -> bool:
        """Whether tasks submitted now will be run: a worker is up (or a broker takes them)."""
        ...
