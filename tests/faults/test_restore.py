"""Damaged backups: a byte-flipped database and one that fails SQLite's integrity check are refused
before the target is touched (exit 1, a one-line reason, no traceback), leave nothing behind, and
the same restore then succeeds from a good backup into the same data dir."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

from tests.faults.conftest import submit
from tests.utils.server import S2V, Server


def _db(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*S2V, "db", *args], env=server._env(), capture_output=True, text=True, check=False
    )


def _left_in(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def _refused(server: Server, backup: Path, target: Path, reason: str) -> None:
    done = _db(server, "restore", str(backup), "--data-dir", str(target))
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    assert reason in done.stderr, done.stderr
    assert _left_in(target) == [], _left_in(target)
    assert not list(target.parent.glob(".*restoring")), list(target.parent.iterdir())


def test_damaged_backups_are_refused_and_leave_nothing(
    tmp_path: Path, face: bytes, servers: list[Server]
) -> None:
    source = Server(tmp_path / "live", env={"S2V_ENGINE": "camera"})
    servers.append(source)
    source.start()
    project = source.keys("p")
    taskid = submit(source, project, face)
    done = source.wait(project, taskid)
    good = tmp_path / "good"
    made = _db(source, "backup", str(good), "--data-dir", str(source.data_dir))
    assert made.returncode == 0, made.stderr
    source.stop()
    manifest = json.loads((good / "manifest.json").read_text())
    target = tmp_path / "restored"

    # A byte flipped in the database (in its free space, where SQLite's own check cannot see it).
    flipped = tmp_path / "flipped"
    shutil.copytree(good, flipped)
    data = bytearray((flipped / "s2v.db").read_bytes())
    data[-100] ^= 0xFF
    (flipped / "s2v.db").write_bytes(bytes(data))
    _refused(source, flipped, target, "does not match the checksum")

    # A database damaged before the backup was made: its checksum matches, SQLite's check fails.
    broken = tmp_path / "broken"
    shutil.copytree(good, broken)
    with sqlite3.connect(broken / "s2v.db") as conn:
        (page_size,) = conn.execute("PRAGMA page_size").fetchone()
        (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'tasks'").fetchone()
    with (broken / "s2v.db").open("r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(b"\x0d\xff\xff\xff" * 16)
    manifest["database_sha256"] = hashlib.sha256((broken / "s2v.db").read_bytes()).hexdigest()
    (broken / "manifest.json").write_text(json.dumps(manifest))
    _refused(source, broken, target, "integrity check")

    # The same command from the good backup then succeeds, and the task is there.
    restored = _db(source, "restore", str(good), "--data-dir", str(target))
    assert restored.returncode == 0, restored.stderr
    server = Server(target, env={"S2V_ENGINE": "camera"})
    servers.append(server)
    server.start()
    again = server.detail(project, taskid)
    assert again["status"] == done["status"] == "task_postprocess_end", again
    assert len(again["outputs"]) == len(done["outputs"]) == 1
