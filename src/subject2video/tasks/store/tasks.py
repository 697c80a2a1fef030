"""Tasks and their compare-and-set: every change of status is a `transition`, so a redelivered
or duplicated message never runs a task twice and a final task is never reopened."""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    case,
    func,
    select,
    update,
)
from sqlalchemy.engine import Row

from subject2video.tasks.keyring import PREFIX as SEALED
from subject2video.tasks.models import TIME_FIELDS, Task
from subject2video.tasks.status import FINAL, Status
from subject2video.tasks.store.engine import StoreBase, database_errors, token_digest
from subject2video.tasks.store.engine import token as new_token
from subject2video.tasks.store.reader import (
    OUTPUTS_OF_TASK,
    TASK_BY_ID,
    TASK_BY_TOKEN,
    SqliteReader,
)


def held_seconds(now: float) -> Any:
    """SQL for the seconds since the task's claim (0 for a task never claimed): what a final
    transition records as the task's engine seconds, in the same statement."""
    return case((Task.accepttime.is_(None), 0.0), else_=now - Task.accepttime)


class ActiveLimitReached(Exception):
    """The project already has as many unfinished tasks as it may."""


class Tasks(StoreBase):
    """Tasks: creation under the project's limit, reads, and every change of status by
    compare-and-set."""

    # -- tasks ------------------------------------------------------------------------------

    def create_task(
        self,
        *,
        project_id: int,
        max_active: int,
        token: str | None = None,
        sealed_token: str | None = None,
        **fields: Any,
    ) -> Task:
        """Insert a queued task, refusing when the project has `max_active` unfinished ones. Its
        socket access `token` (a new one if none) is kept only as `sealed_token` (what the
        keyring made of it; none: the token, as a store without a master key keeps it) and its
        digest."""
        fields.setdefault("uuid", str(uuid.uuid4()))
        token = token or new_token(30)
        task = Task(
            project_id=project_id,
            socketaccesstoken=sealed_token or token,
            token_digest=token_digest(token),
            status=Status.queue.value,
            createtime=time.time(),
            **fields,
        )
        with self.session() as s:
            active = s.scalar(
                select(func.count(Task.id)).where(
                    Task.project_id == project_id, Task.status.not_in([f.value for f in FINAL])
                )
            )
            if (active or 0) >= max_active:
                raise ActiveLimitReached(f"{active} unfinished tasks")
            s.add(task)
        return task

    def get(self, task_id: int) -> Task | None:
        with self.session() as s:
            return s.get(Task, task_id)

    def find(
        self, project_id: int, *, task_id: int | None = None, tasktoken: str | None = None
    ) -> Row[Any] | None:
        """A project's task by id or token (a row with the Task's attributes); None for another
        project's task."""
        found = self.find_with_outputs(project_id, task_id=task_id, tasktoken=tasktoken)
        return found[0] if found else None

    def find_with_outputs(
        self, project_id: int, *, task_id: int | None = None, tasktoken: str | None = None
    ) -> tuple[Row[Any], list[Row[Any]]] | None:
        """A project's task and its outputs, read on one connection."""
        if task_id is not None:
            statement, params = TASK_BY_ID, {"project": project_id, "task": task_id}
        elif tasktoken is not None:
            tasktoken = token_digest(tasktoken)
            statement, params = TASK_BY_TOKEN, {"project": project_id, "token": tasktoken}
        else:
            return None
        self.check_file()
        if self._fast is not None and threading.get_ident() == self._loop_thread:
            with database_errors():
                if self._fast_stale:
                    self._fast_stale = False
                    self._fast.close()
                    self._fast = SqliteReader(self._fast.path, self.busy_timeout)
                return self._fast.find_with_outputs(project_id, task_id, tasktoken)
        with database_errors(), self.engine.connect() as conn:
            task = conn.execute(statement, params).first()
            if task is None:
                return None
            outputs = conn.execute(OUTPUTS_OF_TASK, {"task": task.id}).all()
        return task, list(outputs)

    def by_uuid(self, task_uuid: str) -> Task | None:
        with self.session() as s:
            return s.scalar(select(Task).where(Task.uuid == task_uuid))

    def by_token(self, tasktoken: str) -> Task | None:
        """A task by its token (in clear, as a caller presents it)."""
        return self.by_token_digest(token_digest(tasktoken))

    def by_token_digest(self, digest: str) -> Task | None:
        """A task by its token's digest (the key its events are published under)."""
        with self.session() as s:
            return s.scalar(select(Task).where(Task.token_digest == digest))

    def stored_tokens(self) -> list[tuple[int, str]]:
        """Every task's id and token as stored (for `s2v keys re-encrypt`)."""
        with self.session() as s:
            return [
                (r.id, r.socketaccesstoken)
                for r in s.execute(select(Task.id, Task.socketaccesstoken))
            ]

    def newest_sealed_token(self) -> str | None:
        """The newest task's token if it is stored sealed (for the start-up check that the
        master key opens what the store holds)."""
        with self.session() as s:
            return s.scalar(
                select(Task.socketaccesstoken)
                .where(Task.socketaccesstoken.startswith(SEALED))
                .order_by(Task.id.desc())
                .limit(1)
            )

    def set_stored_tokens(self, tokens: list[tuple[int, str]]) -> None:
        """Replace tasks' stored tokens (sealed or opened by `s2v keys re-encrypt`)."""
        with self.session() as s:
            for task_id, stored in tokens:
                s.execute(update(Task).where(Task.id == task_id).values(socketaccesstoken=stored))

    def list_tasks(
        self,
        project_id: int,
        *,
        start: int = 0,
        limit: int = 20,
        descending: bool = True,
        statuses: Iterable[str] = (),
    ) -> tuple[int, list[Task]]:
        where = [Task.project_id == project_id]
        if statuses:
            where.append(Task.status.in_(list(statuses)))
        order = Task.id.desc() if descending else Task.id.asc()
        with self.session() as s:
            total = s.scalar(select(func.count(Task.id)).where(*where)) or 0
            rows = s.scalars(select(Task).where(*where).order_by(order).offset(start).limit(limit))
            return total, list(rows)

    def tasks_page(
        self,
        project_id: int,
        after_id: int | None,
        limit: int,
        descending: bool,
        *,
        deleted: bool = True,
    ) -> list[Task]:
        """Up to `limit` of a project's tasks after task `after_id` in id order (a cursor page);
        `deleted=False` leaves out the tasks a caller deleted."""
        where = [Task.project_id == project_id]
        if not deleted:
            where.append(Task.deletedtime.is_(None))
        if after_id is not None:
            where.append(Task.id < after_id if descending else Task.id > after_id)
        order = Task.id.desc() if descending else Task.id.asc()
        with self.session() as s:
            return list(s.scalars(select(Task).where(*where).order_by(order).limit(limit)))

    def transition(
        self,
        task_id: int,
        to: Status,
        *,
        allowed_from: Iterable[Status],
        holder: str | None = None,
        **fields: Any,
    ) -> bool:
        """Compare-and-set the status; False when the task is not in one of `allowed_from`
        (or, with `holder`, no longer held under that claim token)."""
        values: dict[str, Any] = {"status": to.value, **fields}
        if to in TIME_FIELDS:
            values.setdefault(TIME_FIELDS[to], time.time())
        where = [Task.id == task_id, Task.status.in_([f.value for f in allowed_from])]
        if holder is not None:
            where.append(Task.claim == holder)
        with self.session() as s:
            result = s.execute(update(Task).where(*where).values(**values))
            return result.rowcount == 1

    def claim(self, task_id: int, worker: str) -> Task | None:
        """Move a queued task to task_accept for `worker`; None if another has it, it ended, or
        its inputs are not all stored yet (an image or voice URL still in the API's input stage,
        tasks/inputs.py, which sets `input_path` last: an engine worker only ever takes a task
        whose inputs are stored)."""
        with self.session() as s:
            result = s.execute(
                update(Task)
                .where(
                    Task.id == task_id,
                    Task.status == Status.queue.value,
                    Task.input_path.is_not(None),
                )
                .values(
                    status=Status.accept.value,
                    accepttime=time.time(),
                    worker=worker,
                    claim=secrets.token_hex(16),
                    attempts=Task.attempts + 1,
                )
            )
            if result.rowcount != 1:
                return None
            return s.get(Task, task_id)

    def update_fields(self, task_id: int, **fields: Any) -> None:
        with self.session() as s:
            s.execute(update(Task).where(Task.id == task_id).values(**fields))

    def append_debug(self, task_id: int, line: str, *, error: bool = False) -> None:
        column = Task.debugerror if error else Task.debugoutput
        with self.session() as s:
            task = s.get(Task, task_id)
            if task is None:
                return
            current = task.debugerror if error else task.debugoutput
            s.execute(
                update(Task)
                .where(Task.id == task_id)
                .values({column: f"{current}\n{line}" if current else line})
            )

    def status_of(self, task_id: int) -> Status | None:
        with self.session() as s:
            value = s.scalar(select(Task.status).where(Task.id == task_id))
            return Status(value) if value else None

    def unfinished(self) -> list[Task]:
        with self.session() as s:
            rows = s.scalars(
                select(Task).where(Task.status.not_in([f.value for f in FINAL])).order_by(Task.id)
            )
            return list(rows)

    def requeue(
        self, task_id: int, status: Status, *, holder: str | None = None, refund: bool = False
    ) -> bool:
        """Put a task held at `status` back in the queue, its claim cleared; with `refund`, the
        attempt its claim counted is given back (the worker was stopped, it did not die)."""
        fields: dict[str, Any] = {"worker": "", "claim": ""}
        if refund:
            fields["attempts"] = case((Task.attempts > 0, Task.attempts - 1), else_=0)
        return self.transition(
            task_id, Status.queue, allowed_from=[status], holder=holder, **fields
        )

    def queued_ids(self) -> list[int]:
        """Queued tasks whose input is stored: those a worker may take."""
        with self.session() as s:
            return list(
                s.scalars(
                    select(Task.id)
                    .where(Task.status == Status.queue.value, Task.input_path.is_not(None))
                    .order_by(Task.id)
                )
            )

    def unfetched(self) -> list[Task]:
        """Queued tasks whose URL inputs are not all stored yet (the input stage's), oldest
        first."""
        with self.session() as s:
            return list(
                s.scalars(
                    select(Task)
                    .where(Task.status == Status.queue.value, Task.input_path.is_(None))
                    .order_by(Task.id)
                )
            )

    def count_by_status(self) -> dict[str, int]:
        with self.session() as s:
            rows = s.execute(select(Task.status, func.count(Task.id)).group_by(Task.status))
            return {status: count for status, count in rows}
