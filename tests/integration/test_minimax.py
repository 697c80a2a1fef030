"""The MiniMax dialect against the real server, as a client written from MiniMax's docs calls it."""

from __future__ import annotations

import base64
import http.server
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.utils.images import face_jpeg
from tests.utils.server import Project, Server, fixture_server, send
from tests.utils.video import assert_contract_video

MINIMAX_STATUSES = ["Queueing", "Preparing", "Processing", "Success"]


class MiniMaxClient:
    """Plain HTTP, as MiniMax's documentation shows it."""

    def __init__(self, server: Server, project: Project) -> None:
        self.base = server.url
        self.headers = {"Authorization": f"Bearer {project.apikey}"}

    def create(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
        headers = self.headers if headers is None else headers
        url = f"{self.base}/v1/video_generation"
        return httpx.post(url, json=body, headers=headers, timeout=30)

    def query(self, task_id: str) -> dict[str, Any]:
        response = httpx.get(
            f"{self.base}/v1/query/video_generation",
            params={"task_id": task_id},
            headers=self.headers,
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def wait(self, task_id: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while (answer := self.query(task_id))["status"] not in ("Success", "Fail"):
            assert time.monotonic() < deadline, answer
            time.sleep(0.2)
        return answer

    def retrieve(self, file_id: str) -> dict[str, Any]:
        response = httpx.get(
            f"{self.base}/v1/files/retrieve",
            params={"file_id": file_id},
            headers=self.headers,
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return response.json()


def request(image: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": "S2V-01",
        "prompt": "She smiles and turns her head slightly.",
        "subject_reference": [{"type": "character", "image": [image]}],
        "prompt_optimizer": True,
        **extra,
    }


def data_uri(data: bytes, kind: str = "jpeg") -> str:
    return f"data:image/{kind};base64,{base64.b64encode(data).decode()}"


def code(response: httpx.Response) -> int:
    assert response.status_code == 200, response.text
    return response.json()["base_resp"]["status_code"]


def test_url_and_data_uri_to_success_and_decoded_mp4(
    server: Server, project: Project, images: str, face: bytes, tmp_path: Path
) -> None:
    client = MiniMaxClient(server, project)  # a signing project: the Bearer key alone is enough
    created = [
        client.create(request(f"{images}/face.jpg")).json(),
        client.create(request(data_uri(face))).json(),
    ]
    for answer in created:
        assert answer["base_resp"] == {"status_code": 0, "status_msg": "success"}, answer
        assert answer["task_id"].isdigit()
    for i, answer in enumerate(created):
        done = client.wait(answer["task_id"])
        assert done["status"] == "Success", done
        assert done["base_resp"]["status_code"] == 0
        assert (done["video_width"], done["video_height"]) == (720, 720)
        info = client.retrieve(done["file_id"])
        assert info["base_resp"]["status_code"] == 0, info
        file = info["file"]
        assert file["file_id"] == done["file_id"]
        assert file["filename"] == "output.mp4" and file["purpose"] == "video_generation"
        assert isinstance(file["created_at"], int)
        video = httpx.get(file["download_url"], timeout=30)
        assert video.status_code == 200 and len(video.content) == file["bytes"]
        path = tmp_path / f"{i}.mp4"
        path.write_bytes(video.content)
        assert_contract_video(path, aspect=1.0)
    # The same task through Wiro's dialect.
    wiro = server.detail(project, created[1]["task_id"])
    assert wiro["status"] == "task_postprocess_end" and wiro["pexit"] == "0"
    assert wiro["outputs"][0]["id"] == client.query(created[1]["task_id"])["file_id"]


def test_wiro_task_in_minimax_query(server: Server, key_only: Project, face: bytes) -> None:
    run = server.run(key_only, files={"inputImageFirst": ("f.jpg", face, "image/jpeg")}).json()
    done = MiniMaxClient(server, key_only).wait(run["taskid"])
    assert done["status"] == "Success" and len(done["file_id"]) == 32, done


class Receiver:
    """A MiniMax callback receiver that echoes the challenge, or does not."""

    def __init__(self, echo: bool) -> None:
        self.echo = echo
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("content-length") or 0)
        body = json.loads(handler.rfile.read(length))
        self.bodies.append(body)
        if self.echo and "challenge" in body:
            send(handler, 200, json.dumps({"challenge": body["challenge"]}).encode())
        else:
            send(handler, 200, b'{"status":"success"}', "application/json")

    def statuses(self) -> list[str]:
        return [b["status"] for b in self.bodies if "status" in b]


def test_callback_handshake(server: Server, key_only: Project, images: str, face: bytes) -> None:
    client = MiniMaxClient(server, key_only)
    echoing, silent = Receiver(echo=True), Receiver(echo=False)
    with fixture_server({"/echo": echoing, "/silent": silent}) as url:
        ids = [
            client.create(request(data_uri(face), callback_url=f"{url}/{path}")).json()["task_id"]
            for path in ("echo", "silent")
        ]
        for task_id in ids:
            assert client.wait(task_id)["status"] == "Success"
        deadline = time.monotonic() + 10
        while "Success" not in echoing.statuses():
            assert time.monotonic() < deadline, echoing.bodies
            time.sleep(0.1)
        # A quiet window, on purpose: MiniMax callbacks keep their state in memory (no store row
        # to wait on), so a repeated status or a Wiro webhook would show up here if sent.
        time.sleep(0.5)
    assert "challenge" in echoing.bodies[0]
    statuses = echoing.statuses()
    assert statuses[-1] == "Success" and "Processing" in statuses, statuses
    assert statuses == sorted(statuses, key=MINIMAX_STATUSES.index), statuses
    assert len(statuses) == len(set(statuses)), statuses  # once per change
    final = echoing.bodies[-1]
    assert final["task_id"] == ids[0] and len(final["file_id"]) == 32
    assert final["base_resp"]["status_code"] == 0
    # The one that did not echo got the challenge and nothing else (no Wiro webhook either).
    assert len(silent.bodies) == 1 and "challenge" in silent.bodies[0], silent.bodies


def test_error_codes(server: Server, key_only: Project, images: str, face: bytes) -> None:
    client = MiniMaxClient(server, key_only)
    good = request(f"{images}/face.jpg")
    subject = {"type": "character", "image": [f"{images}/face.jpg"]}
    assert code(client.create(good, headers={})) == 1004
    assert code(client.create(good, headers={"Authorization": "Bearer nope"})) == 2049
    bad_requests = [
        {k: v for k, v in good.items() if k != "model"},
        {**good, "model": "T2V-01"},
        {**good, "subject_reference": []},
        {**good, "subject_reference": [subject, subject]},
        {**good, "subject_reference": [{**subject, "image": [subject["image"][0]] * 2}]},
        {**good, "subject_reference": [{**subject, "type": "object"}]},
        {**good, "prompt": "x" * 2001},
        {**good, "subject_reference": [{**subject, "image": ["ftp://example.com/a.jpg"]}]},
        {**good, "subject_reference": [{**subject, "image": ["http://127.0.0.1:9/a.jpg"]}]},
        {**good, "callback_url": "http://169.254.169.254/latest"},
        {**good, "subject_reference": [{**subject, "image": ["data:image/jpeg;base64,@@"]}]},
    ]
    for body in bad_requests:
        assert code(client.create(body)) == 2013, body
    not_json = httpx.post(
        f"{server.url}/v1/video_generation", content=b"{", headers=client.headers, timeout=10
    )
    assert code(not_json) == 2013
    for image in (b"hello, not an image", face_jpeg(size=(280, 280)), face_jpeg(size=(600, 200))):
        assert code(client.create(request(data_uri(image)))) == 1026
    # A URL image is fetched later: its rejection fails the task, with 1026.
    cat = client.create(request(f"{images}/cat.jpg")).json()
    failed = client.wait(cat["task_id"])
    assert failed["status"] == "Fail" and failed["base_resp"]["status_code"] == 1026, failed
    assert failed["file_id"] == ""
    assert "[subject_reference]" in failed["base_resp"]["status_msg"], failed  # as it was sent
    # Unknown task and file, and a query without auth.
    assert client.query("999999")["base_resp"]["status_code"] == 2013
    assert client.query("abc")["base_resp"]["status_code"] == 2013
    assert client.retrieve("0" * 32)["base_resp"]["status_code"] == 2013
    anonymous = httpx.get(f"{server.url}/v1/query/video_generation?task_id=1", timeout=10)
    assert code(anonymous) == 1004


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {"S2V_ENGINE": "tests.utils.engines:PacedCameraEngine", "S2V_MAX_ACTIVE_TASKS": "1"}
    srv = Server(tmp_path_factory.mktemp("minimax-limited"), env=env).start()
    yield srv
    srv.stop()


def test_rate_limit_and_killed_task(limited: Server, face: bytes) -> None:
    project = limited.keys("minimax-limited", key_only=True)
    client = MiniMaxClient(limited, project)
    first = client.create(request(data_uri(face))).json()
    assert first["base_resp"]["status_code"] == 0
    second = client.create(request(data_uri(face)))
    assert code(second) == 1002
    # Killed through Wiro's dialect: a failure that is not the image's is 1000.
    limited.post("/v1/Task/Kill", project, json={"taskid": first["task_id"]})
    killed = client.wait(first["task_id"])
    assert killed["status"] == "Fail" and killed["base_resp"]["status_code"] == 1000, killed
    assert code(client.create(request(data_uri(face)))) == 0
