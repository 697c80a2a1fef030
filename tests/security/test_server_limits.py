"""Against a real server: access between projects, tokens, limits, slow clients, hostile uploads."""

from __future__ import annotations

import json
import re
import socket
import string
import threading
import time
from typing import Any

import httpx
from websockets.sync.client import connect

from tests.utils.figures import record
from tests.utils.hostile_images import hostile_corpus
from tests.utils.server import FINAL, Project, Server

ALNUM = set(string.ascii_letters + string.digits)


def _finished(server: Server, project: Project, face: bytes) -> dict[str, Any]:
    files = {"inputImageFirst": ("f.jpg", face, "image/jpeg")}
    response = server.run(project, files=files)
    assert response.status_code == 200, response.text
    return server.wait(project, response.json()["taskid"])


def test_other_projects_see_nothing(
    hardened: Server, signed: Project, keyonly: Project, face: bytes
) -> None:
    """Task ids, tokens and output URLs of one project give another nothing but 'not there'."""
    task = _finished(hardened, keyonly, face)
    assert task["pexit"] == "0", task
    refs = [{"taskid": task["id"]}, {"tasktoken": task["socketaccesstoken"]}]
    tried = 0
    for path in ("Detail", "Kill", "Cancel", "InputOutputDelete"):
        for ref in refs:
            tried += 1
            answer = hardened.post(f"/v1/Task/{path}", signed, json=ref)
            assert answer.status_code == 404, (path, answer.text)
            assert answer.json()["errors"][0]["message"] == "There is no task yet."
    listed = hardened.post("/v1/Task/List", signed, json={}).json()
    assert all(t["id"] != task["id"] for t in listed["tasklist"])
    # An id alone, without a key, is nothing.
    assert httpx.post(f"{hardened.url}/v1/Task/Detail", json=refs[0]).status_code == 401
    output = task["outputs"][0]
    url = output["url"]
    assert httpx.get(url).status_code == 200
    other = _finished(hardened, keyonly, face)["outputs"][0]
    wrong_urls = [
        url.replace(output["accesskey"], "A" * len(output["accesskey"])),
        url.replace(output["accesskey"], other["accesskey"]),
        url.replace(output["id"], other["id"]),
        url.replace(output["accesskey"], output["accesskey"][:-1]),
        url.rsplit("/", 1)[0] + "/other.mp4",
    ]
    for wrong in wrong_urls:
        tried += 1
        assert httpx.get(wrong).status_code == 404, wrong
    record("auth: cross-project tasks and output URLs", tried=tried, handled=tried)
    tokens = [task["socketaccesstoken"], output["accesskey"]]
    assert all(len(t) == 30 and set(t) <= ALNUM for t in tokens)  # 30 x log2(62) = 178.6 bits
    assert re.fullmatch(r"[0-9a-f]{32}", output["id"])  # 128 bits


def test_limits(hardened: Server, keyonly: Project, face: bytes) -> None:
    limit = 3_000_000
    big = b"a=" + b"x" * limit
    answers = [
        hardened.post(
            "/v1/Task/List",
            keyonly,
            content=big,
            headers={"content-type": "application/x-www-form-urlencoded"},
        ),
        hardened.post(
            "/v1/Task/List",
            keyonly,
            content=iter([big[: limit // 2], big[limit // 2 :]]),
            headers={"content-type": "application/x-www-form-urlencoded"},
        ),
    ]
    assert [a.status_code for a in answers] == [413, 413]
    long_prompt = hardened.run(
        keyonly, files={"inputImageFirst": ("f.jpg", face)}, data={"prompt": "x" * 2001}
    )
    assert long_prompt.status_code == 400 and "[prompt]" in long_prompt.text
    record("limits: body size and prompt length", tried=3, handled=3)


def test_concurrency_limit(hardened: Server, face: bytes) -> None:
    project = hardened.keys("busy", key_only=True)
    files = {"inputImageFirst": ("f.jpg", face, "image/jpeg")}
    answers = [hardened.run(project, files=files) for _ in range(8)]
    refused = [a for a in answers if a.status_code == 429]
    assert refused, [a.status_code for a in answers]
    for answer in refused:
        assert answer.headers["retry-after"].isdigit()
        assert answer.json()["errors"][0]["code"] == 96
    for answer in answers:
        if answer.status_code == 200:
            hardened.wait(project, answer.json()["taskid"])


def test_websocket_junk_and_unknown_tokens(hardened: Server, keyonly: Project, face: bytes) -> None:
    task = _finished(hardened, keyonly, face)
    ws_url = hardened.url.replace("http", "ws") + "/v1"
    with connect(ws_url) as ws:
        assert json.loads(ws.recv(5))["type"] == "connected"
        ws.send(json.dumps({"type": "task_info", "tasktoken": task["socketaccesstoken"]}))
        assert json.loads(ws.recv(5))["type"] == "task_postprocess_end"
        for i in range(99):  # unknown tokens are not subscriptions
            ws.send(json.dumps({"type": "task_info", "tasktoken": f"nope{i}"}))
            assert json.loads(ws.recv(5))["message"] == "There is no task yet."
        ws.send("not json")
        ws.send(json.dumps(["a list"]))
        ws.send(json.dumps({"type": "task_info", "tasktoken": task["socketaccesstoken"]}))
        ws.send(json.dumps({"type": "ping"}))
        ws.send(json.dumps({"type": "task_info", "tasktoken": "last"}))
        assert json.loads(ws.recv(5))["message"] == "There is no task yet."


def test_slow_loris_does_not_hold_the_server(
    hardened: Server, keyonly: Project, face: bytes
) -> None:
    """A client sending its upload a byte per 100 ms: Detail and Run still answer promptly."""
    stop = threading.Event()
    host, port = "127.0.0.1", hardened.port

    def loris() -> None:
        with socket.create_connection((host, port)) as sock:
            head = (
                f"POST /v1/Task/List HTTP/1.1\r\nHost: {host}\r\nx-api-key: {keyonly.apikey}\r\n"
                "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
            )
            sock.sendall(head.encode())
            while not stop.is_set():
                try:
                    sock.sendall(b" ")
                except OSError:
                    return
                time.sleep(0.1)

    threads = [threading.Thread(target=loris, daemon=True) for _ in range(20)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)  # on purpose: the 20 slow clients are connected and trickling first
        started = time.monotonic()
        task = _finished(hardened, keyonly, face)
        assert task["pexit"] == "0"
        assert time.monotonic() - started < 20
        started = time.monotonic()
        hardened.detail(keyonly, task["id"])
        assert time.monotonic() - started < 1.0
    finally:
        stop.set()
    record("limits: slow-loris uploads (20 clients)", tried=20, handled=20)


def test_hostile_uploads_fail_their_tasks_and_never_the_worker(
    hardened: Server, keyonly: Project, face: bytes
) -> None:
    corpus = hostile_corpus()
    sample = [n for n, (_, ok) in corpus.items() if ok is False][::2]
    handled = 0
    for name in sample:
        data = corpus[name][0]
        files = {"inputImageFirst": ("face.jpg", data or b"", "image/jpeg")}
        answer = hardened.run(keyonly, files=files)
        if answer.status_code == 400:  # refused by Run itself (an empty file)
            handled += 1
            continue
        assert answer.status_code == 200, (name, answer.text)
        task = hardened.wait(keyonly, answer.json()["taskid"])
        message = task["debugerror"]
        if task["status"] in FINAL and task["pexit"] == "1" and message and "\n" not in message:
            handled += 1
    assert "worker died" not in hardened.log()
    assert _finished(hardened, keyonly, face)["pexit"] == "0"
    record(
        "hostile images (uploaded to the server)",
        tried=len(sample),
        handled=handled,
        got_through=len(sample) - handled,
    )
    assert handled == len(sample)
