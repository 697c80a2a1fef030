"""Disk: the data directory on a small tmpfs that fills up while a task runs and another waits,
then is freed. No 500, no failed task, the worker stays alive, /readyz goes red naming the cause
and green again by itself, and nothing half-written stays behind."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from tests.faults.conftest import (
    PACED,
    no_server_errors,
    ready_state,
    row,
    running,
    submit,
    upload,
    wait_for,
    worker_pid,
)
from tests.utils.figures import record
from tests.utils.server import Server


def fill(directory: Path) -> Path:
    """Write a file until the disk is full; returns it."""
    filler = directory / "filler.bin"
    with filler.open("wb", buffering=0) as out:
        for size in (1 << 20, 4096):  # megabytes, then the last few kilobytes
            with contextlib.suppress(OSError):
                while True:
                    out.write(b"\0" * size)
    return filler


def test_full_disk_makes_the_server_wait_not_fail(
    tmpfs: Callable[[str], Path], face: bytes, servers: list[Server]
) -> None:
    data = tmpfs("48m")
    env = {"S2V_ENGINE": PACED, "S2V_TEST_FRAME_DELAY": "0.03", "S2V_MIN_FREE_MEGABYTES": "8"}
    srv = Server(data / "s2v", env=env, log_dir=data.parent)
    servers.append(srv)
    srv.start()
    project = srv.keys("p")
    pid = wait_for("the worker's pid", lambda: worker_pid(srv))
    first, second = submit(srv, project, face), submit(srv, project, face)
    srv.wait(project, first, until=running)

    # Full: not ready (naming the cause), Run refused with 503 and Retry-After, nothing failed.
    filler = fill(data)
    status, reason = wait_for("readyz to go red", lambda: _red(srv))
    assert status == 503 and "free on the data directory's disk" in reason, reason
    refused = srv.run(project, files=upload(face))
    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"].isdigit()
    assert "Storage unavailable" in refused.json()["errors"][0]["message"]
    assert list(srv.data_dir.rglob("*.part")) == []
    for task_id in (first, second):
        assert srv.detail(project, task_id)["status"] != "task_postprocess_end"

    # Freed: ready again by itself; both tasks finish once, each with one attempt.
    filler.unlink()
    wait_for("readyz to go green", lambda: ready_state(srv)[0] == 200)
    for task_id in (first, second):
        task = srv.wait(project, task_id, timeout=90)
        assert task["pexit"] == "0" and len(task["outputs"]) == 1, task
        assert row(srv, task_id)["attempts"] == 1
    third = submit(srv, project, face)
    assert srv.wait(project, third, timeout=60)["pexit"] == "0"
    assert worker_pid(srv) == pid  # the same worker all along
    assert list((srv.data_dir / "work").glob("task*")) == []
    no_server_errors(srv)
    record("faults: full disk", tried=4, handled=4, got_through=0)


def _red(srv: Server) -> tuple[int, str] | None:
    status, reason = ready_state(srv)
    return (status, reason or "") if status == 503 else None
