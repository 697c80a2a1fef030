"""Task/Detail's hot read, by sqlite3 alone, and the prebuilt statements of the SQLAlchemy path."""

from __future__ import annotations

import json
import sqlite3
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    JSON,
    bindparam,
    select,
)

from subject2video.tasks.models import Output, Task

_TASKS = Task.__table__
_OUTPUTS = Output.__table__
#: The hot read path (Task/Detail) uses prebuilt Core statements: a third of the ORM's cost.
TASK_BY_ID = select(_TASKS).where(
    _TASKS.c.project_id == bindparam("project"), _TASKS.c.id == bindparam("task")
)
TASK_BY_TOKEN = select(_TASKS).where(
    _TASKS.c.project_id == bindparam("project"),
    _TASKS.c.token_digest == bindparam("token"),
)
OUTPUTS_OF_TASK = (
    select(_OUTPUTS).where(_OUTPUTS.c.task_id == bindparam("task")).order_by(_OUTPUTS.c.id)
)


class SqliteReader:
    """Task/Detail's read, by sqlite3 alone, for the one thread that owns it.

    The SQL comes from the same table definitions; rows come back as objects with the columns as
    attributes (JSON columns decoded), like the rows of the SQLAlchemy path.
    """

    def __init__(self, path: str, busy_timeout: float = 5.0) -> None:
        self.path = path
        # Autocommit: each SELECT is its own read, so it sees every commit made before it.
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.conn.execute(f"PRAGMA busy_timeout={int(min(busy_timeout, 5.0) * 1000)}")
        self.task_columns = [c.name for c in _TASKS.columns]
        self.output_columns = [c.name for c in _OUTPUTS.columns]
        self.json_columns = {c.name for c in _TASKS.columns if isinstance(c.type, JSON)}
        # One statement: the task and its outputs (none: one row of NULL output columns).
        columns = [f"t.{c}" for c in self.task_columns] + [f"o.{c}" for c in self.output_columns]
        select_join = (
            f"SELECT {', '.join(columns)} FROM tasks AS t "
            "LEFT JOIN outputs AS o ON o.task_id = t.id WHERE t.project_id = ? AND "
        )
        self.by_id = select_join + "t.id = ? ORDER BY o.id"
        self.by_token = select_join + "t.token_digest = ? ORDER BY o.id"

    def find_with_outputs(
        self, project_id: int, task_id: int | None, digest: str | None
    ) -> tuple[Any, list[Any]] | None:
        """A project's task and its outputs, by id or by its token's digest."""
        if task_id is not None:
            rows = self.conn.execute(self.by_id, (project_id, task_id)).fetchall()
        else:
            rows = self.conn.execute(self.by_token, (project_id, digest)).fetchall()
        if not rows:
            return None
        split = len(self.task_columns)
        task = dict(zip(self.task_columns, rows[0][:split], strict=True))
        for name in self.json_columns:
            if task[name] is not None:
                task[name] = json.loads(task[name])
        outputs = [
            SimpleNamespace(**dict(zip(self.output_columns, row[split:], strict=True)))
            for row in rows
            if row[split] is not None
        ]
        return SimpleNamespace(**task), outputs

    def close(self) -> None:
        self.conn.close()
