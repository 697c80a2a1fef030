"""A backup taken while tasks run restores to a working server, every finished task intact."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import httpx

from tests.utils.server import S2V, Server

PACED = {"S2V_ENGINE": "tests.utils.engines:PacedCameraEngine", "S2V_TEST_FRAME_DELAY": "0.01"}


def _db(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*S2V, "db", *args], env=server._env(), capture_output=True, text=True, check=False
    )


def _without_urls(task: dict[str, Any]) -> dict[str, Any]:
    """A Detail with the output URLs left out: they carry the server's own address."""
    outputs = [{k: v for k, v in o.items() if k != "url"} for o in task["outputs"]]
    return {**task, "outputs": outputs}


def _final_in(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT id FROM tasks WHERE status IN ('task_postprocess_end', 'task_cancel')"
        ).fetchall()
    return [str(r[0]) for r in rows]


def test_backup_under_load_restores_to_a_working_server(tmp_path: Path, face: bytes) -> None:
    source = Server(tmp_path / "live", env=PACED, args=["--workers", "2"]).start()
    backup = tmp_path / "backup"
    try:
        project = source.keys("p")
        files = {"inputImageFirst": ("face.jpg", face, "image/jpeg")}
        ids = [source.run(project, files=files).json()["taskid"] for _ in range(6)]
        source.wait(project, ids[1])  # some finished, the rest running or queued
        made = _db(source, "backup", str(backup), "--data-dir", str(source.data_dir))
        assert made.returncode == 0, made.stderr
        assert "backed up" in made.stdout
        originals = {taskid: source.wait(project, taskid, timeout=120) for taskid in ids}
        videos = {t: httpx.get(d["outputs"][0]["url"]).content for t, d in originals.items()}
    finally:
        source.stop()

    finished = _final_in(backup / "s2v.db")
    assert 2 <= len(finished) < len(ids), "the backup was not taken under load"
    manifest = json.loads((backup / "manifest.json").read_text())
    assert len([f for f in manifest["files"] if f["area"] == "outputs"]) == len(finished)
    assert manifest["missing"] == []

    restored = Server(tmp_path / "restored", env=PACED)
    # A data dir in use is never restored over.
    refused = _db(restored, "restore", str(backup), "--data-dir", str(source.data_dir))
    assert refused.returncode == 1 and "not empty" in refused.stderr
    done = _db(restored, "restore", str(backup), "--data-dir", str(restored.data_dir))
    assert done.returncode == 0, done.stderr
    restored.start()
    try:
        for taskid in finished:
            task = restored.detail(project, taskid)
            assert _without_urls(task) == _without_urls(originals[taskid])
            video = httpx.get(task["outputs"][0]["url"], timeout=10)
            assert video.status_code == 200 and video.content == videos[taskid]
        # Tasks the snapshot caught unfinished are run again by the restored server.
        for taskid in set(ids) - set(finished):
            task = restored.wait(project, taskid, timeout=120)
            assert (task["pexit"], len(task["outputs"])) == ("0", 1), task
    finally:
        restored.stop()
