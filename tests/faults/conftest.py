"""Fixtures of the fault tests: real `s2v serve` processes, small mounts, the task store's rows.

Every fault test runs against a real server (tests/utils/server.py) and undoes what it did: the
servers it starts are stopped, the mounts it makes are unmounted.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.utils.images import face_jpeg
from tests.utils.server import Project, Server

PACED = "tests.utils.engines:PacedCameraEngine"


@pytest.fixture(scope="session")
def face() -> bytes:
    return face_jpeg()


def upload(face: bytes) -> dict[str, Any]:
    return {"inputImageFirst": ("face.jpg", face, "image/jpeg")}


def submit(server: Server, project: Project, face: bytes, **data: str) -> str:
    response = server.run(project, files=upload(face), data=data)
    assert response.status_code == 200, response.text
    return response.json()["taskid"]


def running(task: dict[str, Any]) -> bool:
    return task["status"] in ("task_start", "task_output")


def row(server: Server, task_id: str) -> dict[str, Any]:
    """A task's row in the store, read beside the server (attempts, failure kind...)."""
    with sqlite3.connect(server.data_dir / "s2v.db", timeout=30) as db:
        db.row_factory = sqlite3.Row
        found = db.execute("SELECT * FROM tasks WHERE id = ?", (int(task_id),)).fetchone()
    assert found is not None, task_id
    return dict(found)


def readyz(server: Server) -> httpx.Response:
    return httpx.get(f"{server.url}/readyz", timeout=10)


def wait_for(what: str, condition: Callable[[], Any], timeout: float = 30) -> Any:
    """Poll `condition` (every 0.1 s) until it is truthy; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def ready_state(server: Server) -> tuple[int, str | None]:
    response = readyz(server)
    return response.status_code, response.json().get("reason")


def no_server_errors(server: Server) -> None:
    """No request of the server's log was answered 500, and no worker died."""
    log = server.log_path.read_text(errors="replace") if server.log_path else ""
    assert '" 500' not in log, log[-3000:]
    assert "worker died" not in log, log[-3000:]
    assert "Traceback" not in log, log[-3000:]


def worker_pid(server: Server) -> int | None:
    """The engine process's pid, from the server's last 'worker started' log line; None until
    there is one (or while that process is not alive)."""
    log = server.log_path.read_text(errors="replace") if server.log_path else ""
    lines = [line for line in log.splitlines() if "worker started pid=" in line]
    if not lines:
        return None
    pid = int(lines[-1].rsplit("pid=", 1)[1].split()[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mount a small tmpfs (`size` as mount(8) takes it: "48m"); skip where mounting is not
    allowed (not root, no CAP_SYS_ADMIN). Unmounted at the end, whatever happened."""
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        path = tmp_path / f"tmpfs{len(mounted)}"
        path.mkdir()
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
        mounted.append(path)
        return path

    yield mount
    for path in reversed(mounted):
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make `path` read-only for every new open, as a read-only remount would, by binding it
    onto itself read-only (a remount of its own filesystem is refused while files are open for
    writing); skip where mounting is not allowed."""
    bound = subprocess.run(["mount", "--bind", str(path), str(path)], capture_output=True)
    if bound.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {bound.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(path)], check=True)
        yield
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    """Servers a test starts: each is stopped at the end (SIGKILL if it does not stop)."""
    started: list[Server] = []
    yield started
    for server in started:
        server.stop(timeout=10)
