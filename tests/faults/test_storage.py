"""Storage: a read-only data directory, a database locked past the busy timeout, a deleted
database. Each is a storage fault, never an engine's: Run answers 503 with Retry-After and a
one-line reason, queued and running tasks wait rather than fail, /readyz names the cause where it
can see one, and everything comes back by itself once the cause is gone."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from tests.faults.conftest import (
    PACED,
    no_server_errors,
    read_only,
    ready_state,
    row,
    running,
    submit,
    upload,
    wait_for,
)
from tests.utils.figures import record
from tests.utils.server import Project, Server


def _refused(srv: Server, project: Project, face: bytes) -> str:
    """Run is refused as the machine's fault; returns the one-line reason."""
    response = srv.run(project, files=upload(face))
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"].isdigit()
    [error] = response.json()["errors"]
    assert "\n" not in error["message"]
    return error["message"]


def _finished_once(srv: Server, project: Project, task_id: str) -> None:
    task = srv.wait(project, task_id, timeout=90)
    assert task["pexit"] == "0" and len(task["outputs"]) == 1, task
    assert "engine" not in task["debugerror"], task
    assert row(srv, task_id)["attempts"] == 1


def test_read_only_data_dir(tmp_path: Path, face: bytes, servers: list[Server]) -> None:
    env = {"S2V_ENGINE": PACED, "S2V_TEST_FRAME_DELAY": "0.03"}
    srv = Server(tmp_path / "s2v", env=env, log_dir=tmp_path)
    servers.append(srv)
    srv.start()
    project = srv.keys("p")
    first, second = submit(srv, project, face), submit(srv, project, face)
    srv.wait(project, first, until=running)
    with read_only(srv.data_dir):
        _status, reason = wait_for("readyz red", lambda: _red(srv))
        assert "is not writable" in reason, reason
        assert "Storage unavailable" in _refused(srv, project, face)
        # The running task cannot store its video: it waits, as the queued one does.
        wait_for("the task to meet the read-only disk", lambda: "waits" in srv.log(), 60)
        for task_id in (first, second):
            assert srv.detail(project, task_id)["pexit"] != "1"
    wait_for("readyz green", lambda: ready_state(srv)[0] == 200)
    for task_id in (first, second):
        _finished_once(srv, project, task_id)
    no_server_errors(srv)
    record("faults: read-only data dir", tried=3, handled=3, got_through=0)


def test_database_locked_past_the_busy_timeout(
    tmp_path: Path, face: bytes, servers: list[Server]
) -> None:
    env = {"S2V_ENGINE": PACED, "S2V_TEST_FRAME_DELAY": "0.03", "S2V_DB_BUSY_TIMEOUT_SECONDS": "1"}
    srv = Server(tmp_path / "locked", env=env)
    servers.append(srv)
    srv.start()
    project = srv.keys("p")
    task_id = submit(srv, project, face)
    srv.wait(project, task_id, until=running)
    inputs_before = sorted((srv.data_dir / "inputs").rglob("*"))

    locked, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_lock, args=(srv.data_dir / "s2v.db", locked, release))
    holder.start()
    try:
        assert locked.wait(10)
        message = _refused(srv, project, face)  # after the 1 s busy timeout, not 30 s
        assert "database is locked" in message, message
        # Nothing half-written: the refused upload's input file is gone again.
        assert sorted((srv.data_dir / "inputs").rglob("*")) == inputs_before
        assert srv.detail(project, task_id)["pexit"] != "1"  # reads go on under the lock
        # The running task meets the lock when it writes its progress, and waits.
        wait_for("the task to meet the lock", lambda: "waits" in srv.log())
    finally:
        release.set()
        holder.join()
    _finished_once(srv, project, task_id)
    no_server_errors(srv)
    record("faults: database locked", tried=3, handled=3, got_through=0)


def _hold_lock(path: Path, locked: threading.Event, release: threading.Event) -> None:
    """Hold the database's write lock (another process would do the same) for up to 20 s."""
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        db.execute("BEGIN EXCLUSIVE")
        locked.set()
        release.wait(4)  # four busy timeouts of the server
        db.execute("COMMIT")
    finally:
        db.close()


def test_deleted_database(tmp_path: Path, face: bytes, servers: list[Server]) -> None:
    srv = Server(tmp_path / "deleted", env={"S2V_ENGINE": "camera"})
    servers.append(srv)
    srv.start()
    project = srv.keys("p")
    done = submit(srv, project, face)
    srv.wait(project, done, timeout=60)
    database = srv.data_dir / "s2v.db"
    backup = tmp_path / "backup.db"
    with sqlite3.connect(database) as source, sqlite3.connect(backup) as target:
        source.backup(target)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)

    # Gone: not ready, naming the file; Run refused; nothing is written to the deleted file.
    _status, reason = wait_for("readyz red", lambda: _red(srv))
    assert "database file" in reason and "is gone" in reason, reason
    assert "is gone" in _refused(srv, project, face)

    # Restored: the server reopens it by itself and goes on.
    backup.rename(database)
    wait_for("readyz green", lambda: ready_state(srv)[0] == 200)
    assert srv.detail(project, done)["pexit"] == "0"
    after = submit(srv, project, face)
    assert srv.wait(project, after, timeout=60)["pexit"] == "0"
    with sqlite3.connect(database) as db:  # the task went to the restored file
        assert db.execute("SELECT count(*) FROM tasks").fetchone()[0] == 2
    no_server_errors(srv)
    record("faults: deleted database", tried=3, handled=3, got_through=0)


def _red(srv: Server) -> tuple[int, str] | None:
    status, reason = ready_state(srv)
    return (status, reason or "") if status == 503 else None
