"""The SQLite file deleted, then restored, under a running task: the worker never reports into the
deleted file, its output file is not left without a row, and once the file is back the task is
reconciled by itself (run again, to one output) without spending a second attempt."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from tests.faults.conftest import PACED, no_server_errors, ready_state, row, running, submit
from tests.utils.server import Server


def _mp4s(server: Server, task_uuid: str) -> list[Path]:
    return sorted((server.data_dir / "outputs" / task_uuid).rglob("*.mp4"))


def test_a_database_deleted_and_restored_under_a_running_task(
    tmp_path: Path, face: bytes, servers: list[Server]
) -> None:
    env = {"S2V_ENGINE": PACED, "S2V_TEST_FRAME_DELAY": "0.03"}  # a task of about 5 s
    srv = Server(tmp_path / "replaced", env=env)
    servers.append(srv)
    srv.start()
    project = srv.keys("p")
    taskid = submit(srv, project, face)
    srv.wait(project, taskid, until=running)
    task_uuid = row(srv, taskid)["uuid"]
    database = srv.data_dir / "s2v.db"
    backup = tmp_path / "backup.db"
    with sqlite3.connect(database) as source, sqlite3.connect(backup) as target:
        source.backup(target)  # the task is running in this copy
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)

    # The engine finishes while the file is gone: its report has nowhere to go, and it waits.
    deadline = time.monotonic() + 30
    while "it waits" not in srv.log() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    assert _mp4s(srv, task_uuid) == [], "an output file was left without its row"

    backup.rename(database)
    task = srv.wait(project, taskid, timeout=40)
    assert task["pexit"] == "0" and len(task["outputs"]) == 1, task
    stored = row(srv, taskid)
    assert stored["attempts"] == 1, stored  # the store's fault cost the task no attempt
    assert len(_mp4s(srv, task_uuid)) == 1, _mp4s(srv, task_uuid)
    assert ready_state(srv)[0] == 200
    no_server_errors(srv)
