"""Secrets and keys under an operator's mistakes and an attacker's leftovers: every secret at rest
sealed (the OpenAI webhook secret too) and re-encrypt counting them; a second rotation during a
grace period refused instead of cutting the first grace short; a revoked project's WebSocket
subscriptions ended and refused."""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx
import openai
import pytest
from cryptography.fernet import Fernet
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from subject2video.media.video import probe
from tests.faults.conftest import no_server_errors, submit, upload
from tests.utils.server import S2V, Project, Server, fixture_server, send


class Recorder:
    """A webhook receiver that records each delivery's headers and body."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, str], bytes]] = []

    def __call__(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("content-length") or 0))
        self.calls.append(({k.lower(): v for k, v in handler.headers.items()}, body))
        send(handler, 200, b"ok", "text/plain")


#: The SDK marks its videos methods deprecated; they are what the dialect serves.
pytestmark = pytest.mark.filterwarnings("ignore:The Sora API:DeprecationWarning")


def _s2v(
    server: Server, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*S2V, *args, "--data-dir", str(server.data_dir)],
        env={**server._env(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _stored(server: Server) -> list[tuple[str, str | None]]:
    with sqlite3.connect(server.data_dir / "s2v.db") as db:
        rows = db.execute(
            "SELECT name, apisecret, previous_apisecret, webhook_secret FROM projects"
        )
        return [
            (f"{r[0]}.{col}", v)
            for r in rows
            for col, v in zip(
                ("apisecret", "previous_apisecret", "webhook_secret"), r[1:], strict=True
            )
            if v is not None
        ]


def test_every_secret_at_rest_is_sealed_and_webhooks_still_verify(
    tmp_path: Path, face: bytes, servers: list[Server]
) -> None:
    master = Fernet.generate_key().decode()
    srv = Server(tmp_path / "sealed", env={"S2V_ENGINE": "camera", "S2V_MASTER_KEY": master})
    servers.append(srv)
    srv.start()
    recorder = Recorder()
    with fixture_server({"/hook": recorder}) as base:
        made = _s2v(
            srv, "keys", "create", "--name", "hooked", "--json", "--webhook-url", f"{base}/hook"
        )
        assert made.returncode == 0, made.stderr
        hooked = json.loads(made.stdout)
        stored = dict(_stored(srv))
        assert stored["hooked.webhook_secret"].startswith("fernet:"), stored
        assert hooked["webhook_secret"] not in stored["hooked.webhook_secret"]
        # The sealed secret still signs the events, as OpenAI's SDK checks them.
        sdk = openai.OpenAI(
            base_url=f"{srv.url}/v1",
            api_key=hooked["apikey"],
            webhook_secret=hooked["webhook_secret"],
            max_retries=0,
        )
        photo = ("face.jpg", face, "image/jpeg")
        video = sdk.videos.create_and_poll(
            prompt="smile", input_reference=photo, seconds="2", poll_interval_ms=100
        )
        deadline = time.monotonic() + 20
        while not recorder.calls and time.monotonic() < deadline:
            time.sleep(0.1)
        assert recorder.calls, srv.log()
        headers, body = recorder.calls[0]
        assert sdk.webhooks.unwrap(body, headers).data.id == video.id

        # Secrets written in clear (a project made without the key) are all sealed by re-encrypt,
        # and it counts them.
        clear = _s2v(
            srv,
            "keys",
            "create",
            "--name",
            "clear",
            "--json",
            "--webhook-url",
            f"{base}/hook",
            env={"S2V_MASTER_KEY": ""},
        )
        assert clear.returncode == 0, clear.stderr
    assert dict(_stored(srv))["clear.webhook_secret"].startswith("whsec_")
    done = _s2v(srv, "keys", "re-encrypt")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        "2 secrets re-written (2 project secrets); all 8 stored secrets (5 project secrets, "
        "1 task token, 1 output access key, 1 callback body)"
    ), done.stdout
    left = [name for name, value in _stored(srv) if not (value or "").startswith("fernet:")]
    assert left == [], left
    no_server_errors(srv)


def test_a_second_rotation_during_a_grace_period_is_refused(
    tmp_path: Path, servers: list[Server]
) -> None:
    srv = Server(tmp_path / "rotate", env={"S2V_ENGINE": "camera"})
    servers.append(srv)
    srv.start()
    first = srv.keys("p")
    rotated = _s2v(srv, "keys", "rotate", "p", "--grace", "120", "--json")
    assert rotated.returncode == 0, rotated.stderr
    again = _s2v(srv, "keys", "rotate", "p", "--grace", "120", "--json")
    assert again.returncode == 1, again.stdout
    assert "grace period" in again.stderr and "s2v keys revoke" in again.stderr, again.stderr
    # The grace granted first still holds: the first key works.
    listed = srv.post("/v1/Task/List", first, json={})
    assert listed.status_code == 200, listed.text


def test_revoking_ends_the_projects_websocket_subscriptions(
    tmp_path: Path, face: bytes, servers: list[Server]
) -> None:
    srv = Server(tmp_path / "revoke", env={"S2V_ENGINE": "camera"})
    servers.append(srv)
    srv.start()
    project = srv.keys("p")
    taskid = submit(srv, project, face)
    task = srv.wait(project, taskid)
    token = task["socketaccesstoken"]
    ws_url = srv.url.replace("http", "ws") + "/v1"
    with connect(ws_url, open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "connected"
        ws.send(json.dumps({"type": "task_info", "tasktoken": token}))
        assert json.loads(ws.recv(timeout=10))["type"] == "task_postprocess_end"
        revoked = _s2v(srv, "keys", "revoke", "p")
        assert revoked.returncode == 0, revoked.stderr
        started = time.monotonic()
        frame = json.loads(ws.recv(timeout=5))
        assert frame["type"] == "task_error" and "revoked" in frame["message"], frame
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
        assert time.monotonic() - started < 3
    with connect(ws_url, open_timeout=10) as ws:
        ws.recv(timeout=10)
        ws.send(json.dumps({"type": "task_info", "tasktoken": token}))
        frame = json.loads(ws.recv(timeout=10))
        assert frame["type"] == "task_error" and "revoked" in frame["message"], frame
    no_server_errors(srv)


def _dump(server: Server) -> str:
    """Every row of the store as SQL text: what a copy of the database gives away."""
    with contextlib.closing(sqlite3.connect(server.data_dir / "s2v.db")) as db:
        return "\n".join(db.iterdump())


def _subscribe(server: Server, token: str) -> dict[str, object]:
    """The first frame the WebSocket sends for a subscription to `token`."""
    with connect(server.url.replace("http", "ws") + "/v1", open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "connected"
        ws.send(json.dumps({"type": "task_info", "tasktoken": token}))
        return json.loads(ws.recv(timeout=10))


def _a_task_before_and_after_sealing(
    srv: Server, project: Project, face: bytes, base: str, master: str
) -> tuple[dict, dict, subprocess.CompletedProcess[str]]:
    """A Run with a callback to `{base}/hook` stored without a master key; the server stopped,
    `s2v keys re-encrypt` under `master`, the server started again with it, and another Run:
    (the first Run's answer, the second's, re-encrypt's result), both tasks done."""

    def run() -> dict:
        response = srv.run(project, files=upload(face), data={"callbackUrl": f"{base}/hook"})
        assert response.status_code == 200, response.text
        made = response.json()
        srv.wait(project, made["taskid"])
        return made

    before = run()
    srv.callbacks_settled()
    srv.stop()
    sealed = _s2v(srv, "keys", "re-encrypt", env={"S2V_MASTER_KEY": master})
    assert sealed.returncode == 0, sealed.stderr
    srv.env["S2V_MASTER_KEY"] = master
    srv.start()
    return before, run(), sealed


def test_task_tokens_are_not_stored_in_clear(
    tmp_path: Path, face: bytes, servers: list[Server]
) -> None:
    """A task's socket access token subscribes to its events without a key: a copy of the
    database must not give it away (neither its row nor its stored callback body), while Detail
    still shows it and the WebSocket still takes it; tokens stored before are sealed by
    re-encrypt, and counted."""
    master = Fernet.generate_key().decode()
    srv = Server(tmp_path / "tokens", env={"S2V_ENGINE": "camera"})
    servers.append(srv)
    srv.start()
    project = srv.keys("p")
    recorder = Recorder()
    with fixture_server({"/hook": recorder}) as base:
        # Before the master key: a token kept as the store kept it (in clear).
        before, after, sealed = _a_task_before_and_after_sealing(srv, project, face, base, master)
        # Replicate's event webhooks are rendered when the event happens: stored sealed too.
        photo = "data:image/jpeg;base64," + base64.b64encode(face).decode()
        prediction = httpx.post(
            f"{srv.url}/v1/models/minimax/video-01/predictions",
            headers={"Authorization": f"Bearer {project.apikey}"},
            json={
                "input": {"prompt": "smile", "subject_reference": photo},
                "webhook": f"{base}/hook",
                "webhook_events_filter": ["start", "output", "completed"],
            },
            timeout=30,
        )
        assert prediction.status_code == 201, prediction.text
        srv.wait(project, prediction.json()["id"])
        srv.callbacks_settled()
    with contextlib.closing(sqlite3.connect(srv.data_dir / "s2v.db")) as db:
        bodies = [b for (b,) in db.execute("SELECT body FROM deliveries WHERE body != ''")]
    assert len(bodies) >= 5 and all(b.startswith("fernet:") for b in bodies), bodies
    stored = _dump(srv)
    for made in (before, after):
        token = made["socketaccesstoken"]
        assert len(token) >= 30
        assert token not in stored, f"task {made['taskid']}'s token is stored in clear"
        # Still shown and still taken: Detail by id and by token, the WebSocket.
        assert srv.detail(project, made["taskid"])["socketaccesstoken"] == token
        by_token = srv.post("/v1/Task/Detail", project, json={"tasktoken": token})
        assert by_token.json()["tasklist"][0]["id"] == made["taskid"], by_token.text
        frame = _subscribe(srv, token)
        assert frame["type"] == "task_postprocess_end", frame
        assert frame["tasktoken"] == token and frame["id"] == made["taskid"], frame
    # The callbacks were sent as rendered, with the token in clear to its receiver.
    wiro = [json.loads(body) for _, body in recorder.calls if b"tasklist" in body]
    sent = {d["tasklist"][0]["id"]: d["tasklist"][0]["socketaccesstoken"] for d in wiro}
    assert sent == {m["taskid"]: m["socketaccesstoken"] for m in (before, after)}, sent
    assert _subscribe(srv, "x" * 30)["type"] == "task_error"
    # re-encrypt counted what it sealed: the first task's token and its callback's body.
    assert "1 task token" in sealed.stdout and "1 callback body" in sealed.stdout, sealed.stdout
    no_server_errors(srv)


def _key_of(url: str) -> str:
    """The access key of an output's `/v1/File/{id}/{accesskey}/{name}` URL."""
    return url.rsplit("/", 2)[1]


def _downloads(url: str, path: Path) -> None:
    """`url` serves a real MP4 (decoded), and the same URL with another access key serves none."""
    video = httpx.get(url, timeout=30)
    assert video.status_code == 200, (url, video.text)
    path.write_bytes(video.content)
    info = probe(path)
    assert info.codec == "h264" and info.frames > 0, info
    wrong = url.replace(f"/{_key_of(url)}/", "/" + "x" * 30 + "/")
    assert httpx.get(wrong, timeout=30).status_code == 404, wrong


def test_output_access_keys_are_not_stored_in_clear(
    tmp_path: Path, face: bytes, servers: list[Server]
) -> None:
    """An output's access key downloads its video with no API key: a copy of the database must
    not give it away, while every dialect's URL (Wiro's Detail, WebSocket and callback,
    Replicate's prediction and webhook, MiniMax's files/retrieve) still downloads the video; keys
    stored before are sealed by re-encrypt, and counted."""
    master = Fernet.generate_key().decode()
    srv = Server(tmp_path / "outputs", env={"S2V_ENGINE": "camera"})
    servers.append(srv)
    srv.start()
    project = srv.keys("p")
    bearer = {"Authorization": f"Bearer {project.apikey}"}
    recorder = Recorder()
    with fixture_server({"/hook": recorder}) as base:
        # Before the master key: an access key kept as the store kept it (in clear).
        made, after, sealed = _a_task_before_and_after_sealing(srv, project, face, base, master)
        before = made["taskid"]
        photo = "data:image/jpeg;base64," + base64.b64encode(face).decode()
        prediction = httpx.post(
            f"{srv.url}/v1/models/minimax/video-01/predictions",
            headers=bearer,
            json={
                "input": {"prompt": "smile", "subject_reference": photo},
                "webhook": f"{base}/hook",
            },
            timeout=30,
        )
        assert prediction.status_code == 201, prediction.text
        srv.wait(project, prediction.json()["id"])
        minimax = httpx.post(
            f"{srv.url}/v1/video_generation",
            headers=bearer,
            json={
                "model": "S2V-01",
                "prompt": "smile",
                "subject_reference": [{"type": "character", "image": [photo]}],
            },
            timeout=30,
        )
        assert minimax.json()["base_resp"]["status_code"] == 0, minimax.text
        srv.wait(project, minimax.json()["task_id"])
        srv.callbacks_settled()

    urls: dict[str, str] = {}
    for taskid in (before, after["taskid"]):
        (output,) = srv.detail(project, taskid)["outputs"]
        assert _key_of(output["url"]) == output["accesskey"], output
        urls[f"Wiro Detail of task {taskid}"] = output["url"]
    shown = _subscribe(srv, after["socketaccesstoken"])["message"]
    assert isinstance(shown, list) and len(shown) == 1, shown
    urls["Wiro WebSocket"] = shown[0]["url"]
    for _, body in recorder.calls:
        sent = json.loads(body)
        if "tasklist" in sent:
            task = sent["tasklist"][0]
            urls[f"Wiro callback of task {task['id']}"] = task["outputs"][0]["url"]
        elif sent.get("status") == "succeeded":
            urls["Replicate webhook"] = sent["output"]
    got = httpx.get(f"{srv.url}/v1/predictions/{prediction.json()['id']}", headers=bearer)
    urls["Replicate prediction"] = got.json()["output"]
    file_id = httpx.get(
        f"{srv.url}/v1/query/video_generation",
        params={"task_id": minimax.json()["task_id"]},
        headers=bearer,
    ).json()["file_id"]
    retrieved = httpx.get(
        f"{srv.url}/v1/files/retrieve", params={"file_id": file_id}, headers=bearer
    ).json()
    urls["MiniMax files/retrieve"] = retrieved["file"]["download_url"]
    assert len(urls) == 8, urls

    stored = _dump(srv)
    assert all(len(_key_of(url)) >= 30 for url in urls.values()), urls
    in_clear = [name for name, url in urls.items() if _key_of(url) in stored]
    assert in_clear == [], f"access keys stored in clear, of the URLs of: {in_clear}"
    for i, url in enumerate(urls.values()):
        _downloads(url, tmp_path / f"{i}.mp4")
    with contextlib.closing(sqlite3.connect(srv.data_dir / "s2v.db")) as db:
        kept = [k for (k,) in db.execute("SELECT accesskey FROM outputs")]
    assert len(kept) == 4 and all(k.startswith("fernet:") for k in kept), kept
    # re-encrypt counted what it sealed: the first task's access key among them.
    assert "1 output access key" in sealed.stdout, sealed.stdout
    no_server_errors(srv)
