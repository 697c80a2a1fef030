"""Keys against a running server: revoke (every dialect refuses at the next request), rotate with
a grace period, secrets sealed at rest with S2V_MASTER_KEY."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from tests.utils.server import S2V, Project, Server

UNKNOWN = {"code": 0, "message": "Project authorization is not founded."}


def _keys(server: Server, *args: str) -> str:
    out = subprocess.run(
        [*S2V, "keys", *args, "--data-dir", str(server.data_dir)],
        env=server._env(),
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout


def _detail(server: Server, project: Project, taskid: str) -> httpx.Response:
    return server.post("/v1/Task/Detail", project, json={"taskid": taskid})


def _minimax_query(server: Server, apikey: str, taskid: str) -> dict:
    response = httpx.get(
        f"{server.url}/v1/query/video_generation",
        params={"task_id": taskid},
        headers={"Authorization": f"Bearer {apikey}"},
        timeout=10,
    )
    return response.json()


@pytest.fixture
def camera(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "keys", env={"S2V_ENGINE": "camera"}).start()
    yield srv
    srv.stop()


def test_revoked_key_is_refused_by_every_dialect_at_once(camera: Server, face: bytes) -> None:
    srv = camera
    project = srv.keys("leaky")
    files = {"inputImageFirst": ("face.jpg", face, "image/jpeg")}
    taskid = srv.run(project, files=files).json()["taskid"]
    done = srv.wait(project, taskid)
    assert done["pexit"] == "0"
    assert _minimax_query(srv, project.apikey, taskid)["status"] == "Success"

    assert "revoked" in _keys(srv, "revoke", project.apikey)
    refused = _detail(srv, project, taskid)
    assert refused.status_code == 401
    assert refused.json()["errors"] == [UNKNOWN]
    assert _minimax_query(srv, project.apikey, taskid)["base_resp"]["status_code"] == 2049

    listed = {row["name"]: row for row in json.loads(_keys(srv, "list", "--json"))}
    assert listed["leaky"]["state"] == "revoked" and listed["leaky"]["tasks"] == 1
    assert listed["leaky"]["lastused"] is not None

    # New credentials for the project: its task and video stayed.
    fresh = json.loads(_keys(srv, "rotate", "leaky", "--grace", "60", "--json"))
    assert fresh["previous_until"] is None  # a revoked key gets no grace
    again = Project("leaky", fresh["apikey"], fresh["apisecret"])
    kept = srv.detail(again, taskid)
    assert kept["outputs"] == done["outputs"]
    assert httpx.get(kept["outputs"][0]["url"], timeout=10).content[4:8] == b"ftyp"
    assert _detail(srv, project, taskid).status_code == 401


def test_rotated_key_works_during_grace_and_fails_after(camera: Server) -> None:
    srv = camera
    old = srv.keys("rotating")
    assert _detail(srv, old, "1").status_code == 404  # authenticated: no such task yet
    rotated = json.loads(_keys(srv, "rotate", old.apikey, "--grace", "10", "--json"))
    new = Project("rotating", rotated["apikey"], rotated["apisecret"])
    assert new.apikey != old.apikey and new.apisecret != old.apisecret
    states = {row["name"]: row["state"] for row in json.loads(_keys(srv, "list", "--json"))}
    assert states["rotating"] == "rotating"

    assert _detail(srv, old, "1").status_code == 404, "the old key was refused during its grace"
    assert _detail(srv, new, "1").status_code == 404
    assert _minimax_query(srv, old.apikey, "1")["base_resp"]["status_code"] != 2049
    assert time.time() < rotated["previous_until"], "too slow to test within the grace period"

    # The grace period ends at a stated time: wait for that time, not for a guess.
    time.sleep(max(0.0, rotated["previous_until"] - time.time()) + 0.05)
    refused = _detail(srv, old, "1")
    assert refused.status_code == 401 and refused.json()["errors"] == [UNKNOWN]
    assert _minimax_query(srv, old.apikey, "1")["base_resp"]["status_code"] == 2049
    assert _detail(srv, new, "1").status_code == 404


def test_secrets_sealed_at_rest_with_a_master_key(tmp_path: Path) -> None:
    master = Fernet.generate_key().decode()
    srv = Server(tmp_path / "sealed", env={"S2V_ENGINE": "camera", "S2V_MASTER_KEY": master})
    plain = srv.keys("before")  # made without... the same env: sealed from the start
    srv.start()
    try:
        with sqlite3.connect(srv.data_dir / "s2v.db") as conn:
            stored = dict(conn.execute("SELECT name, apisecret FROM projects").fetchall())
        assert stored["before"].startswith("fernet:")
        assert plain.apisecret is not None and plain.apisecret not in stored["before"]
        assert _detail(srv, plain, "1").status_code == 404  # the signature checks out
        wrong = Project("before", plain.apikey, "x" * 40)
        assert _detail(srv, wrong, "1").status_code == 401
    finally:
        srv.stop()
    # Without the master key the server does not start, and says how to fix it.
    no_key = Server(srv.data_dir, env={"S2V_ENGINE": "camera", "S2V_MASTER_KEY": ""})
    serve = subprocess.run(
        [*S2V, "serve", "--port", str(no_key.port), "--data-dir", str(srv.data_dir)],
        env=no_key._env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert serve.returncode == 2 and "set S2V_MASTER_KEY" in serve.stderr, serve.stderr
    result = subprocess.run(
        [*S2V, "keys", "rotate", "before", "--data-dir", str(srv.data_dir)],
        env=no_key._env(),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0  # rotation needs no old secret; the new one is stored in clear
    out = subprocess.run(
        [*S2V, "keys", "re-encrypt", "--data-dir", str(srv.data_dir)],
        env={**no_key._env(), "S2V_MASTER_KEY": master},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "sealed with S2V_MASTER_KEY" in out.stdout
    with sqlite3.connect(srv.data_dir / "s2v.db") as conn:
        (secret,) = conn.execute("SELECT apisecret FROM projects").fetchone()
    assert secret.startswith("fernet:")
