"""The strict nonce policy, the per-project limit on unfinished tasks, and the body size limit."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.utils.server import Project, Server, sign


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {
        "S2V_NONCE_POLICY": "strict",
        "S2V_ENGINE": "tests.utils.engines:PacedCameraEngine",
        "S2V_MAX_ACTIVE_TASKS": "2",
        "S2V_MAX_BODY_BYTES": "2000000",
    }
    srv = Server(tmp_path_factory.mktemp("strict"), env=env).start()
    yield srv
    srv.stop()


def _headers(project: Project, nonce: str) -> dict[str, str]:
    secret = project.apisecret or ""
    return {
        "x-api-key": project.apikey,
        "x-nonce": nonce,
        "x-signature": sign(project.apikey, secret, nonce),
    }


def test_strict_nonce_replay_and_skew(strict: Server) -> None:
    project = strict.keys("p")
    body = {"taskid": "1"}
    nonce = str(int(time.time() * 1000))
    first = strict.post("/v1/Task/List", project, headers=_headers(project, nonce), json=body)
    assert first.status_code == 200, first.text
    replay = strict.post("/v1/Task/List", project, headers=_headers(project, nonce), json=body)
    assert replay.status_code == 401
    assert replay.json()["errors"][0]["message"] == "Project authorization is not valid."
    for stale in (str(int(time.time()) - 3600), str(int(time.time()) + 3600), "12345", "abc"):
        response = strict.post("/v1/Task/List", project, headers=_headers(project, stale))
        assert response.status_code == 401, stale
    seconds = str(int(time.time()))
    ok = strict.post("/v1/Task/List", project, headers=_headers(project, seconds))
    assert ok.status_code == 200, ok.text


def test_active_task_limit_and_body_limit(strict: Server, face: bytes, tmp_path: Path) -> None:
    project = strict.keys("limited")
    files = {"inputImageFirst": ("f.jpg", face, "image/jpeg")}
    ids = [strict.run(project, files=files).json()["taskid"] for _ in range(2)]
    third = strict.run(project, files=files)
    assert third.status_code == 429
    assert third.headers["retry-after"].isdigit()
    assert third.json()["errors"][0]["code"] == 96
    big = {"inputImageFirst": ("big.jpg", b"\xff" * 2_100_000, "image/jpeg")}
    assert strict.run(project, files=big).status_code == 413
    for taskid in ids:
        strict.post("/v1/Task/Kill", project, json={"taskid": taskid})
    assert strict.run(project, files=files).status_code == 200
