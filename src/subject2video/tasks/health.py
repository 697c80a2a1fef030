"""Storage health: whether the data directory and the task store can take work right now.

Asked by `/readyz`, by Run before it writes anything, and by a worker before it claims a task, so
that a fault of the machine shows as not-ready and 503 (with the cause), queued tasks wait rather
than fail, and everything returns by itself once the cause is gone:

| cause                                        | seen as                                      |
|----------------------------------------------|----------------------------------------------|
| the data directory is missing or unwritable  | a probe file cannot be created there         |
| the disk is nearly full                      | free space under `S2V_MIN_FREE_MEGABYTES`    |
| the SQLite file was deleted                  | its path is gone                             |
| the SQLite file was replaced (a restore)     | another inode at its path: connections reopen|
|                                              | and `on_replaced` reconciles the tasks       |

A check costs a few system calls and is cached for `CHECK_EVERY_SECONDS`.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

from subject2video.config import Settings
from subject2video.errors import StorageError
from subject2video.tasks.store import Store

logger = logging.getLogger(__name__)

CHECK_EVERY_SECONDS = 1.0


class StorageHealth:
    """The data directory's and the store's fitness for work; `problem()` names what is wrong."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.data_dir = settings.data_dir
        self.min_free = settings.min_free_megabytes * 1024 * 1024
        self.store = store
        self._identity = _identity(store.path)
        self._checked = 0.0
        self._problem: str | None = None
        self._lock = threading.Lock()
        #: Called once the store reopened a replaced file (TaskService reconciles its tasks).
        self.on_replaced: Callable[[], None] | None = None

    def problem(self) -> str | None:
        """What keeps the server from taking work now; None when storage is fine."""
        with self._lock:
            now = time.monotonic()
            if now - self._checked >= CHECK_EVERY_SECONDS:
                before = self._problem
                self._problem = self._check()
                self._checked = now
                if self._problem != before:
                    if self._problem:
                        logger.warning("storage not ready: %s", self._problem)
                    else:
                        logger.info("storage ready again", extra={"was": before})
            return self._problem

    def require(self) -> None:
        """Raise StorageError (Run answers 503 with Retry-After) while `problem()` names one."""
        problem = self.problem()
        if problem:
            raise StorageError(f"Storage unavailable: {problem}; retry later", retry_after=5)

    # -- the checks -------------------------------------------------------------------------

    def _check(self) -> str | None:
        return self._directory() or self._free_space() or self._database()

    def _directory(self) -> str | None:
        probe = self.data_dir / f".probe-{os.getpid()}-{threading.get_ident()}"
        try:
            probe.touch()
            probe.unlink()
        except OSError as exc:
            return f"the data directory {self.data_dir} is not writable ({exc.strerror or exc})"
        return None

    def _free_space(self) -> str | None:
        try:
            free = shutil.disk_usage(self.data_dir).free
        except OSError as exc:
            return f"the data directory {self.data_dir} cannot be read ({exc.strerror or exc})"
        if free < self.min_free:
            return (
                f"only {free // (1024 * 1024)} MB free on the data directory's disk, under "
                f"S2V_MIN_FREE_MEGABYTES={self.min_free // (1024 * 1024)}"
            )
        return None

    def _database(self) -> str | None:
        if self.store.path is None:
            return None
        identity = _identity(self.store.path)
        if identity is None:
            return f"the database file {self.store.path} is gone (deleted?); restore it or restart"
        if identity != self._identity:
            # A restored file: connections opened before hold the old one; let them go.
            logger.warning("database file replaced; reopening it", extra={"path": self.store.path})
            self.store.reopen()
            self._identity = identity
            if self.on_replaced is not None:
                try:
                    self.on_replaced()
                except StorageError as exc:
                    return f"the restored database cannot be reconciled yet: {exc.message}"
        return None


def _identity(path: str | None) -> tuple[int, int] | None:
    """The (device, inode) of the file at `path`; None where there is none."""
    if path is None:
        return None
    try:
        stat = Path(path).stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino
