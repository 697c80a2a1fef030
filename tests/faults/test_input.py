"""Input: each poisonous input of the issue, in each place it can come, gets a 4xx (MiniMax's
dialect: its invalid-parameters code), never a 500 or a stored task; and afterwards Detail and
List of the project keep working."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from tests.faults.conftest import no_server_errors, submit
from tests.utils.figures import record
from tests.utils.server import SLUG, Project, Server

DEEP = "[" * 10_000 + "]" * 10_000
DEEP_OBJECT = '{"a":' * 10_000 + "1" + "}" * 10_000
URL = "http://127.0.0.2:9/face.jpg"


def _run_body(extra: str) -> str:
    """A Run body with the image URL and `extra`, raw JSON text (escapes reach the server as
    they are)."""
    return '{"inputImageFirstUrl": "' + URL + '", ' + extra + "}"


#: Run bodies (raw JSON text, so that lone surrogates and depth reach the server as they are).
RUN_BODIES = {
    "surrogate prompt": _run_body('"prompt": "a \\ud800 b"'),
    "surrogate in an ignored field": _run_body('"x": "\\udfff"'),
    "NUL in the prompt": _run_body('"prompt": "a\\u0000b"'),
    "JSON 10000 deep": DEEP,
    "object 10000 deep": DEEP_OBJECT,
    "deep value of a field": _run_body('"prompt": ' + DEEP),
    "callbackUrl http://xn--/": _run_body('"callbackUrl": "http://xn--/"'),
    "callback port 0": _run_body('"callbackUrl": "http://a.b:0/"'),
    "callback port 99999": _run_body('"callbackUrl": "http://a.b:99999/"'),
    "seed ²": _run_body('"seed": "\\u00b2"'),
    "seed --5": _run_body('"seed": "--5"'),
    "seed of 5000 digits": _run_body('"seed": "' + "9" * 5000 + '"'),
    "image URL of 5000 characters": '{"inputImageFirstUrl": "http://a.b/' + "x" * 5000 + '"}',
    "prompt of 100000 characters": _run_body('"prompt": "' + "x" * 100_000 + '"'),
}
#: Detail bodies naming tasks that cannot exist.
DETAIL_BODIES = {
    "task id 2^63": json.dumps({"taskid": str(2**63)}),
    "task id of 30 digits": json.dumps({"taskid": "1" * 30}),
    "task id ²": '{"taskid": "\\u00b2"}',
    "surrogate task token": '{"tasktoken": "\\ud800"}',
    "task token of 1 MB": json.dumps({"tasktoken": "a" * 1_000_000}),
    "Detail JSON 10000 deep": DEEP,
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("input"), env={"S2V_ENGINE": "camera"})
    srv.start()
    yield srv
    srv.stop()


def _post_raw(srv: Server, path: str, project: Project, body: str) -> httpx.Response:
    headers = {"content-type": "application/json"}
    # surrogatepass: send the escape's text as it is (it is ASCII anyway), never a 500 here.
    return srv.post(path, project, content=body.encode("utf-8", "surrogatepass"), headers=headers)


def test_poisonous_input_is_refused_at_the_door(server: Server, face: bytes) -> None:
    srv = server
    project = srv.keys("p")
    good = submit(srv, project, face)
    srv.wait(project, good, timeout=60)
    refused = 0

    for name, body in RUN_BODIES.items():
        response = _post_raw(srv, f"/v1/Run/{SLUG}", project, body)
        assert 400 <= response.status_code < 500, (name, response.status_code, response.text)
        refused += 1
    for name, body in DETAIL_BODIES.items():
        response = _post_raw(srv, "/v1/Task/Detail", project, body)
        assert response.status_code in (400, 404), (name, response.status_code, response.text)
        refused += 1
    named = _post_raw(srv, f"/v1/Run/{SLUG}", project, RUN_BODIES["surrogate prompt"])
    assert "[prompt]" in named.json()["errors"][0]["message"]
    named = _post_raw(srv, f"/v1/Run/{SLUG}", project, RUN_BODIES["callbackUrl http://xn--/"])
    assert "[callbackUrl]" in named.json()["errors"][0]["message"]

    refused += _minimax(srv, project)
    refused += _websocket(srv)
    refused += _headers(srv)

    # Nothing got in, and the project's history reads as before.
    detail = srv.detail(project, good)
    assert detail["pexit"] == "0"
    listed = srv.post("/v1/Task/List", project, json={"limit": 100})
    assert listed.status_code == 200, listed.text
    assert [t["id"] for t in listed.json()["tasklist"]] == [good]
    no_server_errors(srv)
    record("faults: poisonous input", tried=refused, handled=refused, got_through=0)


def _minimax(srv: Server, project: Project) -> int:
    """The MiniMax dialect: invalid parameters (2013), never its unknown error (1000)."""
    bearer = {"authorization": f"Bearer {project.apikey}", "content-type": "application/json"}
    subject = '"subject_reference": [{"type": "character", "image": ["' + URL + '"]}]'
    bodies = [
        DEEP,
        '{"model": "S2V-01", "prompt": "\\ud800", ' + subject + "}",
        '{"model": "S2V-01", "callback_url": "http://xn--/", ' + subject + "}",
    ]
    for body in bodies:
        response = httpx.post(
            f"{srv.url}/v1/video_generation", content=body.encode(), headers=bearer, timeout=30
        )
        assert response.json()["base_resp"]["status_code"] == 2013, response.text
    for task_id in (str(2**63), "\u00b2", "1" * 40):
        response = httpx.get(
            f"{srv.url}/v1/query/video_generation",
            params={"task_id": task_id},
            headers=bearer,
            timeout=30,
        )
        assert response.json()["base_resp"]["status_code"] == 2013, response.text
    return len(bodies) + 3


def _websocket(srv: Server) -> int:
    """Binary frames, bad JSON and deep JSON get an error frame; the connection lives on."""
    frames: list[str | bytes] = [
        b"\x00\x01binary",
        "{not json",
        DEEP,
        json.dumps({"type": "task_info", "tasktoken": "\ud800"}, ensure_ascii=True),
    ]
    with connect(f"ws://127.0.0.1:{srv.port}/v1", max_size=2**21) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "connected"
        for frame in frames:
            ws.send(frame)
            answer = json.loads(ws.recv(timeout=10))
            assert answer["type"] == "task_error", (frame[:20], answer)
    return len(frames)


def _headers(srv: Server) -> int:
    """A 1 MB header is refused with 431; headers of 50 MB are cut off early, six of them leave
    the server's memory where it was."""
    response = httpx.get(f"{srv.url}/healthz", headers={"x-big": "a" * 1_000_000}, timeout=30)
    assert response.status_code == 431, response.status_code
    assert srv.proc is not None
    before = _rss_mb(srv.proc.pid)
    for _ in range(6):
        sent, answer = _send_huge_header(srv.port, 50 * 1024 * 1024)
        assert answer.startswith(b"HTTP/1.1 431"), answer[:100]
        assert sent < 5 * 1024 * 1024, f"the server read {sent} bytes of header"
    growth = _rss_mb(srv.proc.pid) - before
    assert growth < 20, f"RSS grew {growth:.0f} MB"
    return 7


def _send_huge_header(port: int, size: int) -> tuple[int, bytes]:
    """Send a request whose one header is `size` bytes, until the server stops reading; returns
    the bytes sent and the server's answer."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ")
        chunk = b"a" * 65536
        deadline = time.monotonic() + 30
        try:
            while sent < size and time.monotonic() < deadline:
                sock.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass  # the server closed the connection: what we expect
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError:
            pass
    return sent, answer


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")
