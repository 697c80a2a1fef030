"""The task store: the source of truth for every task. SQLite (WAL) by default, PostgreSQL alike.

One module per job, one `Store` of them all (callers import everything from here):

| module        | holds                                                                 |
|---------------|-----------------------------------------------------------------------|
| engine.py     | the engine, SQLite's pragmas, sessions, the schema, StorageError, tokens |
| reader.py     | Task/Detail's hot read by sqlite3 alone                               |
| projects.py   | projects, their keys, nonces                                          |
| tasks.py      | tasks, and every change of status by compare-and-set (`transition`)   |
| outputs.py    | outputs                                                               |
| deliveries.py | callback deliveries and their leases                                  |
"""

from __future__ import annotations

from subject2video.tasks.store.deliveries import Deliveries
from subject2video.tasks.store.engine import (
    BUSY_TIMEOUT_SECONDS,
    StoreBase,
    database_errors,
    make_engine,
    token,
    token_digest,
    webhook_secret,
)
from subject2video.tasks.store.outputs import Outputs
from subject2video.tasks.store.projects import Projects
from subject2video.tasks.store.tasks import ActiveLimitReached, Tasks, held_seconds

__all__ = [
    "BUSY_TIMEOUT_SECONDS",
    "ActiveLimitReached",
    "Store",
    "database_errors",
    "held_seconds",
    "make_engine",
    "token",
    "token_digest",
    "webhook_secret",
]


class Store(Projects, Tasks, Outputs, Deliveries, StoreBase):
    """All reads and writes of projects, tasks, outputs, deliveries and nonces."""
