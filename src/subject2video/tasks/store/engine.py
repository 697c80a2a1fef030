"""The store's engine: the database URL, SQLite's pragmas, sessions, the schema, the errors a
database raises turned into StorageError, and the random tokens every table uses."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    create_engine,
    event,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from subject2video.errors import StorageError
from subject2video.tasks.store.reader import SqliteReader

logger = logging.getLogger(__name__)

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def token(length: int = 30) -> str:
    """A random [A-Za-z0-9] token; 30 characters carry about 178 bits."""
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def token_digest(value: str) -> str:
    """How the store finds a task by its token, and checks an output's access key: SHA-256 in
    hex. No salt or key is needed: each carries 178 random bits, so its digest cannot be reversed
    by guessing (migrations 0009 and 0010 keep a frozen copy of this function)."""
    return hashlib.sha256(value.encode()).hexdigest()


def webhook_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


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


def _file_identity(path: str | None) -> tuple[int, int] | None:
    """The (device, inode) of the file at `path`; None where there is none."""
    if path is None:
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


class StoreBase:
    """The store's engine and sessions; the tables' reads and writes are the mixins beside it."""

    def __init__(self, url: str, *, busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> None:
        self.url = url
        self.busy_timeout = busy_timeout
        self.engine = make_engine(url, busy_timeout)
        #: SQLite reads never wait on writers (WAL), so the API may do them on its event loop.
        self.local_reads = url.startswith("sqlite")
        self._loop_thread: int | None = None
        self._fast: SqliteReader | None = None
        self._fast_stale = False
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        #: The SQLite file's (device, inode) this store's connections hold (None: not seen yet).
        self._file: tuple[int, int] | None = _file_identity(self.path)
        #: Counts the times the file was found replaced (a restore), for those that reconcile.
        self.replacements = 0

    def bind_read_thread(self) -> None:
        """Serve hot reads made on the calling thread (the API's event loop) straight through
        sqlite3: SQLAlchemy's statement machinery costs twenty times the query itself."""
        if self.local_reads and self.engine.url.database:
            self._fast = SqliteReader(self.engine.url.database, self.busy_timeout)
            self._loop_thread = threading.get_ident()

    @property
    def path(self) -> str | None:
        """The SQLite database file; None for a server database."""
        return self.engine.url.database if self.local_reads else None

    def check_file(self) -> None:
        """SQLite: make sure the connections hold the file now at `path` (one stat). A deleted
        file is StorageError, never written to (SQLite would write into the unlinked inode, lost
        at the next open); a replaced one (a restore) is reopened."""
        if self.path is None:
            return
        now = _file_identity(self.path)
        if now == self._file:
            return
        if now is None:
            if self._file is None:
                return  # not made yet (migrations make it)
            raise StorageError(
                f"the database file {self.path} is gone (deleted?); restore it or restart"
            )
        if self._file is not None:
            logger.warning("database file replaced; reopening it", extra={"path": self.path})
            self.reopen()
            self.replacements += 1
        self._file = now

    def reopen(self) -> None:
        """Drop every open connection, so that the next ones open the file now at `path` (the
        file the old connections held was deleted or replaced)."""
        self._file = _file_identity(self.path)
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
        self.check_file()
        with database_errors(), self._session.begin() as session:
            yield session
