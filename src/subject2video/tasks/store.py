"""The task store: the source of truth for every task. SQLite (WAL) by default, PostgreSQL alike.

Every change of status is a compare-and-set (`transition`), so a redelivered or duplicated message
never runs a task twice and a final task is never reopened.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    JSON,
    bindparam,
    case,
    create_engine,
    delete,
    event,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine, Row
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from subject2video.errors import StorageError
from subject2video.tasks.models import (
    COMPLETED,
    TIME_FIELDS,
    Delivery,
    Nonce,
    Output,
    Project,
    Task,
)
from subject2video.tasks.status import FINAL, Status

logger = logging.getLogger(__name__)

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def token(length: int = 30) -> str:
    """A random [A-Za-z0-9] token; 30 characters carry about 178 bits."""
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def webhook_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


_TASKS = Task.__table__
_OUTPUTS = Output.__table__
#: The hot read path (Task/Detail) uses prebuilt Core statements: a third of the ORM's cost.
_TASK_BY_ID = select(_TASKS).where(
    _TASKS.c.project_id == bindparam("project"), _TASKS.c.id == bindparam("task")
)
_TASK_BY_TOKEN = select(_TASKS).where(
    _TASKS.c.project_id == bindparam("project"),
    _TASKS.c.socketaccesstoken == bindparam("token"),
)
_OUTPUTS_OF_TASK = (
    select(_OUTPUTS).where(_OUTPUTS.c.task_id == bindparam("task")).order_by(_OUTPUTS.c.id)
)


class _SqliteReader:
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
        self.by_token = select_join + "t.socketaccesstoken = ? ORDER BY o.id"

    def find_with_outputs(
        self, project_id: int, task_id: int | None, tasktoken: str | None
    ) -> tuple[Any, list[Any]] | None:
        if task_id is not None:
            rows = self.conn.execute(self.by_id, (project_id, task_id)).fetchall()
        else:
            rows = self.conn.execute(self.by_token, (project_id, tasktoken)).fetchall()
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


#: Seconds a write waits for another writer's lock before it fails (a StorageError).
BUSY_TIMEOUT_SECONDS = 30.0


@contextmanager
def database_errors() -> Iterator[None]:
    """Turn the database's own failures (locked past the busy timeout, a full disk, a read-only
    or vanished file) into a StorageError: the machine's fault, never the engine's or the
    caller's. Integrity errors are the callers' business and pass through."""
    try:
        yield
    except (OperationalError, sqlite3.OperationalError) as exc:
        orig = getattr(exc, "orig", None) or exc
        reason = str(orig).splitlines()[0] if str(orig) else type(orig).__name__
        logger.warning("database failed: %s", reason)
        message = f"Storage failed: the task store answered '{reason}'; retry later"
        raise StorageError(message) from exc


def held_seconds(now: float) -> Any:
    """SQL for the seconds since the task's claim (0 for a task never claimed): what a final
    transition records as the task's engine seconds, in the same statement."""
    return case((Task.accepttime.is_(None), 0.0), else_=now - Task.accepttime)


class ActiveLimitReached(Exception):
    """The project already has as many unfinished tasks as it may."""


def _sqlite_pragmas(busy_timeout: float) -> Any:
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    return on_connect


def make_engine(url: str, busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> Engine:
    """An SQLAlchemy engine for the store URL, tuned for its backend."""
    if url.startswith("sqlite"):
        args = {"timeout": busy_timeout, "check_same_thread": False}
        engine = create_engine(url, connect_args=args)
        event.listen(engine, "connect", _sqlite_pragmas(busy_timeout))
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


class Store:
    """All reads and writes of projects, tasks, outputs, deliveries and nonces."""

    def __init__(self, url: str, *, busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> None:
        self.url = url
        self.busy_timeout = busy_timeout
        self.engine = make_engine(url, busy_timeout)
        #: SQLite reads never wait on writers (WAL), so the API may do them on its event loop.
        self.local_reads = url.startswith("sqlite")
        self._loop_thread: int | None = None
        self._fast: _SqliteReader | None = None
        self._fast_stale = False
        self._session = sessionmaker(self.engine, expire_on_commit=False)

    def bind_read_thread(self) -> None:
        """Serve hot reads made on the calling thread (the API's event loop) straight through
        sqlite3: SQLAlchemy's statement machinery costs twenty times the query itself."""
        if self.local_reads and self.engine.url.database:
            self._fast = _SqliteReader(self.engine.url.database, self.busy_timeout)
            self._loop_thread = threading.get_ident()

    @property
    def path(self) -> str | None:
        """The SQLite database file; None for a server database."""
        return self.engine.url.database if self.local_reads else None

    def reopen(self) -> None:
        """Drop every open connection, so that the next ones open the file now at `path` (the
        file the old connections held was deleted or replaced)."""
        self.engine.dispose()
        # The read connection belongs to the event loop's thread: it reopens there, on next use.
        self._fast_stale = True

    def create_schema(self) -> None:
        """Create or migrate the tables to the newest schema (Alembic, see migrations/)."""
        from subject2video.migrations import upgrade

        upgrade(self.engine)

    def dispose(self) -> None:
        if self._fast is not None:
            self._fast.close()
            self._fast = None
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with database_errors(), self._session.begin() as session:
            yield session

    # -- projects ---------------------------------------------------------------------------

    def create_project(
        self,
        name: str,
        *,
        key_only: bool = False,
        seal: Callable[[str], str] | None = None,
        webhook_url: str | None = None,
    ) -> Project:
        """A new project with a new key (and secret, stored as `seal` makes it: keyring.py);
        with `webhook_url`, a `whsec_` secret its OpenAI webhooks are signed with."""
        secret = None if key_only else token(40)
        project = Project(
            name=name,
            apikey=token(32),
            apisecret=seal(secret) if seal and secret else secret,
            createtime=time.time(),
            webhook_url=webhook_url,
            webhook_secret=webhook_secret() if webhook_url else None,
        )
        with self.session() as s:
            s.add(project)
        # The caller shows the secret once, in clear; the store keeps what `seal` made of it.
        project.apisecret = secret
        return project

    def project_by_any_key(self, apikey: str) -> Project | None:
        """The project whose current key, or key replaced by a rotation, is `apikey`."""
        where = or_(Project.apikey == apikey, Project.previous_apikey == apikey)
        with self.session() as s:
            return s.scalar(select(Project).where(where))

    def update_project(self, project_id: int, **fields: Any) -> bool:
        with self.session() as s:
            result = s.execute(update(Project).where(Project.id == project_id).values(**fields))
            return result.rowcount == 1

    def task_counts_by_project(self) -> dict[int, int]:
        with self.session() as s:
            rows = s.execute(select(Task.project_id, func.count(Task.id)).group_by(Task.project_id))
            return {project_id: count for project_id, count in rows}

    def projects(self) -> list[Project]:
        with self.session() as s:
            return list(s.scalars(select(Project).order_by(Project.id)))

    def project(self, project_id: int) -> Project | None:
        with self.session() as s:
            return s.get(Project, project_id)

    def project_by_key(self, apikey: str) -> Project | None:
        with self.session() as s:
            return s.scalar(select(Project).where(Project.apikey == apikey))

    def use_nonce(self, apikey: str, nonce: str, *, keep_seconds: float) -> bool:
        """Record (key, nonce); False if it was seen before. Old nonces are pruned."""
        now = time.time()
        try:
            with self.session() as s:
                s.execute(delete(Nonce).where(Nonce.seen < now - keep_seconds))
                s.add(Nonce(apikey=apikey, nonce=nonce, seen=now))
        except IntegrityError:
            return False
        return True

    # -- tasks ------------------------------------------------------------------------------

    def create_task(self, *, project_id: int, max_active: int, **fields: Any) -> Task:
        """Insert a queued task, refusing when the project has `max_active` unfinished ones."""
        fields.setdefault("uuid", str(uuid.uuid4()))
        task = Task(
            project_id=project_id,
            socketaccesstoken=token(30),
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
            statement, params = _TASK_BY_ID, {"project": project_id, "task": task_id}
        elif tasktoken is not None:
            statement, params = _TASK_BY_TOKEN, {"project": project_id, "token": tasktoken}
        else:
            return None
        if self._fast is not None and threading.get_ident() == self._loop_thread:
            with database_errors():
                if self._fast_stale:
                    self._fast_stale = False
                    self._fast.close()
                    self._fast = _SqliteReader(self._fast.path, self.busy_timeout)
                return self._fast.find_with_outputs(project_id, task_id, tasktoken)
        with database_errors(), self.engine.connect() as conn:
            task = conn.execute(statement, params).first()
            if task is None:
                return None
            outputs = conn.execute(_OUTPUTS_OF_TASK, {"task": task.id}).all()
        return task, list(outputs)

    def by_token(self, tasktoken: str) -> Task | None:
        with self.session() as s:
            return s.scalar(select(Task).where(Task.socketaccesstoken == tasktoken))

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
        self, project_id: int, after_id: int | None, limit: int, descending: bool
    ) -> list[Task]:
        """Up to `limit` of a project's tasks after task `after_id` in id order (a cursor page)."""
        where = [Task.project_id == project_id]
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
        """Move a queued task to task_accept for `worker`; None if another has it or it ended."""
        with self.session() as s:
            result = s.execute(
                update(Task)
                .where(Task.id == task_id, Task.status == Status.queue.value)
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
        with self.session() as s:
            return list(
                s.scalars(
                    select(Task.id).where(Task.status == Status.queue.value).order_by(Task.id)
                )
            )

    def count_by_status(self) -> dict[str, int]:
        with self.session() as s:
            rows = s.execute(select(Task.status, func.count(Task.id)).group_by(Task.status))
            return {status: count for status, count in rows}

    # -- outputs ----------------------------------------------------------------------------

    def add_output(self, output: Output) -> None:
        with self.session() as s:
            s.add(output)

    def outputs(self, task_ids: Iterable[int]) -> dict[int, list[Output]]:
        ids = list(task_ids)
        found: dict[int, list[Output]] = {i: [] for i in ids}
        if not ids:
            return found
        with self.session() as s:
            for out in s.scalars(select(Output).where(Output.task_id.in_(ids)).order_by(Output.id)):
                found[out.task_id].append(out)
        return found

    def output(self, output_id: str) -> Output | None:
        with self.session() as s:
            return s.get(Output, output_id)

    def delete_outputs(self, task_id: int) -> list[Output]:
        with self.session() as s:
            rows = list(s.scalars(select(Output).where(Output.task_id == task_id)))
            s.execute(delete(Output).where(Output.task_id == task_id))
            return rows

    def expired_outputs(self, now: float) -> list[Output]:
        with self.session() as s:
            return list(
                s.scalars(
                    select(Output).where(Output.expiretime.is_not(None), Output.expiretime < now)
                )
            )

    def delete_output(self, output_id: str) -> None:
        with self.session() as s:
            s.execute(delete(Output).where(Output.id == output_id))

    # -- callback deliveries ----------------------------------------------------------------

    def add_delivery(self, delivery: Delivery) -> bool:
        """Store a delivery; False if the task already has one for its event (one per event:
        exactly one for the final status)."""
        try:
            with self.session() as s:
                s.add(delivery)
        except IntegrityError:
            return False
        return True

    def lease_due_deliveries(
        self,
        now: float,
        *,
        lease_seconds: float,
        limit: int = 20,
        accept: Callable[[Delivery], bool] | None = None,
    ) -> list[Delivery]:
        """Take the deliveries that are due and not leased by another process; with `accept`,
        only those it accepts (it is asked in order of due time, of a few times `limit`)."""
        taken: list[Delivery] = []
        with self.session() as s:
            due = list(
                s.scalars(
                    select(Delivery)
                    .where(
                        Delivery.state == "pending", Delivery.due <= now, Delivery.lease_until < now
                    )
                    .order_by(Delivery.due)
                    .limit(limit if accept is None else limit * 5)
                )
            )
        for d in due:
            if len(taken) >= limit:
                break
            if accept is not None and not accept(d):
                continue
            with self.session() as s:
                result = s.execute(
                    update(Delivery)
                    .where(Delivery.id == d.id, Delivery.lease_until == d.lease_until)
                    .values(lease_until=now + lease_seconds)
                )
                if result.rowcount == 1:
                    taken.append(d)
        return taken

    def finish_delivery(
        self, delivery_id: str, *, state: str, attempts: int, due: float, error: str = ""
    ) -> None:
        with self.session() as s:
            s.execute(
                update(Delivery)
                .where(Delivery.id == delivery_id)
                .values(state=state, attempts=attempts, due=due, last_error=error, lease_until=0.0)
            )

    def undelivered_final_tasks(self, dialects: Sequence[str] = ()) -> list[int]:
        """Final tasks with a callbackurl but no delivery, of Wiro's dialect or of `dialects`
        (those whose final webhooks are durable deliveries): a process died between the final
        status and recording the delivery."""
        has_delivery = (
            select(Delivery.id)
            .where(Delivery.task_id == Task.id, Delivery.event == COMPLETED)
            .exists()
        )
        with self.session() as s:
            return list(
                s.scalars(
                    select(Task.id).where(
                        Task.status.in_([f.value for f in FINAL]),
                        Task.callbackurl != "",
                        Task.callback_dialect.is_(None) | Task.callback_dialect.in_(dialects),
                        ~has_delivery,
                    )
                )
            )
