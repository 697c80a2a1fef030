"""Real servers for tests: `s2v serve` in a subprocess, and small local HTTP fixtures."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.server
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
S2V = [sys.executable, "-m", "subject2video"]
SLUG = "MiniMax/image-to-video-hailuo-01-subject"
FINAL = ("task_postprocess_end", "task_cancel")
#: Loopback address the test fixtures (image host, callback receiver) listen on; servers allow it.
FIXTURE_HOST = "127.0.0.2"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


_nonce_lock = threading.Lock()
_last_nonce = 0


def _next_nonce() -> str:
    """Strictly increasing millisecond nonces, valid under the strict nonce policy."""
    global _last_nonce
    with _nonce_lock:
        _last_nonce = max(int(time.time() * 1000), _last_nonce + 1)
        return str(_last_nonce)


def sign(apikey: str, apisecret: str, nonce: str) -> str:
    return hmac.new(apikey.encode(), (apisecret + nonce).encode(), hashlib.sha256).hexdigest()


@dataclass
class Project:
    name: str
    apikey: str
    apisecret: str | None

    def headers(self, nonce: str | None = None) -> dict[str, str]:
        headers = {"x-api-key": self.apikey}
        if self.apisecret is not None:
            nonce = nonce or _next_nonce()
            headers["x-nonce"] = nonce
            headers["x-signature"] = sign(self.apikey, self.apisecret, nonce)
        return headers


@dataclass
class Server:
    """One `s2v serve` process with its own data directory."""

    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    #: More `s2v serve` options (`["--workers", "2"]`).
    args: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    #: Start in a process group of its own, so a test can signal the whole group (as systemd does).
    own_group: bool = False
    #: Where the server's log goes (default: the data directory, unless that disk is the test's).
    log_dir: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "PYTHONPATH": f"{REPO / 'src'}:{REPO}",
            "S2V_FETCH_ALLOW_HOSTS": FIXTURE_HOST,
            # One engine process unless a test asks for more: tests that catch a task queued
            # behind a running one need it (the default is one per core).
            "S2V_WORKERS": "1",
            **self.env,
        }
        return env

    def keys(self, name: str, *, key_only: bool = False) -> Project:
        args = [*S2V, "keys", "create", "--name", name, "--json", "--data-dir", str(self.data_dir)]
        if key_only:
            args.append("--key-only")
        out = subprocess.run(args, env=self._env(), check=True, capture_output=True, text=True)
        data = json.loads(out.stdout)
        return Project(data["name"], data["apikey"], data["apisecret"])

    def start(self, timeout: float = 60) -> Server:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = (self.log_dir or self.data_dir) / f"server-{self.port}.log"
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    *S2V,
                    "serve",
                    "--port",
                    str(self.port),
                    "--data-dir",
                    str(self.data_dir),
                    *self.args,
                ],
                env=self._env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                start_new_session=self.own_group,
            )
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"server not ready in {timeout}s: {self.log()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path else ""

    def callbacks_settled(self, timeout: float = 30) -> None:
        """Wait until the store holds no pending callback: each is delivered or given up, so no
        further delivery can come. A bounded poll: the store belongs to the server's process."""
        db = f"file:{self.data_dir / 's2v.db'}?mode=ro"
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.closing(sqlite3.connect(db, uri=True)) as conn:
                (pending,) = conn.execute(
                    "SELECT count(*) FROM deliveries WHERE state = 'pending'"
                ).fetchone()
            if not pending:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{pending} callbacks still pending: {self.log()}")
            time.sleep(0.1)

    # -- API helpers ------------------------------------------------------------------------

    def post(self, path: str, project: Project, **kwargs: Any) -> httpx.Response:
        headers = {**project.headers(), **kwargs.pop("headers", {})}
        return httpx.post(f"{self.url}{path}", headers=headers, timeout=30, **kwargs)

    def run(self, project: Project, **kwargs: Any) -> httpx.Response:
        return self.post(f"/v1/Run/{SLUG}", project, **kwargs)

    def detail(self, project: Project, taskid: str) -> dict[str, Any]:
        response = self.post("/v1/Task/Detail", project, json={"taskid": taskid})
        assert response.status_code == 200, response.text
        return response.json()["tasklist"][0]

    def wait(
        self,
        project: Project,
        taskid: str,
        timeout: float = 90,
        until: Callable[[dict[str, Any]], bool] = lambda t: t["status"] in FINAL,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            task = self.detail(project, taskid)
            if until(task):
                return task
            if time.monotonic() > deadline:
                raise TimeoutError(f"task {taskid} stuck at {task['status']}: {self.log()}")
            time.sleep(0.1)


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict[str, Callable[[http.server.BaseHTTPRequestHandler], None]] = {}

    def log_message(self, *args: Any) -> None:
        return None

    def _dispatch(self) -> None:
        route = self.routes.get(self.path.split("?")[0]) or self.routes.get("*")
        if route is None:
            self.send_error(404)
            return
        route(self)

    do_GET = _dispatch
    do_POST = _dispatch


def send(
    handler: http.server.BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    content_type: str = "application/octet-stream",
    headers: dict[str, str] | None = None,
) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(body)


@contextmanager
def fixture_server(
    routes: dict[str, Callable[[http.server.BaseHTTPRequestHandler], None]],
    host: str = FIXTURE_HOST,
) -> Iterator[str]:
    """A threaded HTTP server on `host` answering `routes`; yields its base URL."""
    handler = type("Handler", (_Handler,), {"routes": routes})
    server = http.server.ThreadingHTTPServer((host, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def terminate(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
