"""Scale-out: two API replicas and two `s2v worker`s on Celery, Redis and PostgreSQL.

The cluster is started with docs/deploy.md's commands. Tasks use the prompt-paced camera engine:
"pace=0" tasks take about two seconds, "pace=0.04" ones six, long enough to be caught running.
"""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from websockets.sync.client import connect

from tests.integration.conftest import Recorder
from tests.utils.cluster import Redis, Worker, need_services, postgres_database, s2v
from tests.utils.server import SLUG, Project, Server, fixture_server, send

pytestmark = pytest.mark.slow

ENGINE = "tests.utils.engines:PromptPacedEngine"
FAST = "She smiles pace=0"
SLOW = "She turns her head pace=0.04"


class Cluster:
    """Two API replicas, two workers, one store, one broker, one shared storage directory."""

    def __init__(self, root: Path, redis: Redis, database_url: str) -> None:
        self.root = root
        self.redis = redis
        self.database_url = database_url
        self.env = {
            "S2V_DATABASE_URL": database_url,
            "S2V_BROKER_URL": redis.url,
            "S2V_STORAGE_URL": str(root / "shared"),
            "S2V_ENGINE": ENGINE,
            "S2V_KILL_GRACE_SECONDS": "2",
            "S2V_WORKER_HEARTBEAT_SECONDS": "2",
            "S2V_RESUBMIT_AFTER_SECONDS": "3",
            "S2V_TASK_MAX_ATTEMPTS": "3",
            "S2V_FETCH_ALLOW_HOSTS": "127.0.0.2",
            "S2V_CALLBACK_BACKOFF_SECONDS": "0.3",
            "S2V_MAX_ACTIVE_TASKS": "50",
        }
        self.apis = [Server(root / f"api{i}", env=self.env) for i in range(2)]
        self.workers = [Worker(root / f"worker{i}", self.env) for i in range(2)]
        self.db = create_engine(database_url)

    def start(self) -> Project:
        s2v(["db", "upgrade", "--data-dir", str(self.root / "admin")], self.env)
        project = self.apis[0].keys("scaleout", key_only=True)
        for worker in self.workers:
            worker.start()
        for api in self.apis:
            api.start()
        for worker in self.workers:
            worker.wait_ready()
        return project

    def stop(self) -> None:
        for api in self.apis:
            api.stop()
        for worker in self.workers:
            worker.stop()
        self.db.dispose()

    def rows(self, sql: str, **params: object) -> list[tuple]:
        with self.db.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    need_services()
    redis = Redis().start()
    with postgres_database() as url:
        c = Cluster(tmp_path_factory.mktemp("scaleout"), redis, url)
        c.project = c.start()  # type: ignore[attr-defined]
        try:
            yield c
        finally:
            c.stop()
            redis.stop()


def run(api: Server, project: Project, face: bytes, prompt: str, **data: str) -> dict:
    files = {"inputImageFirst": ("face.jpg", face, "image/jpeg")}
    response = api.run(project, files=files, data={"prompt": prompt, **data})
    assert response.status_code == 200, response.text
    return response.json()


def test_twenty_tasks_on_two_apis_and_two_workers(cluster: Cluster, face: bytes) -> None:
    """20 tasks alternately to both APIs: all finish; Detail, WebSocket and List agree on both."""
    project, apis = cluster.project, cluster.apis  # type: ignore[attr-defined]
    recorder = Recorder()
    with fixture_server({"/hook": recorder}) as hook:
        runs = [
            run(apis[i % 2], project, face, FAST, callbackUrl=f"{hook}/hook") for i in range(20)
        ]
        # A WebSocket on the other replica sees the first task's events through Redis.
        frames: list[dict] = []
        with connect(f"ws://127.0.0.1:{apis[1].port}/v1") as ws:
            ws.recv(timeout=5)
            ws.send(json.dumps({"type": "task_info", "tasktoken": runs[0]["socketaccesstoken"]}))
            while not frames or frames[-1]["type"] not in ("task_postprocess_end", "task_cancel"):
                frames.append(json.loads(ws.recv(timeout=60)))
        done = [apis[i % 2].wait(project, r["taskid"], timeout=120) for i, r in enumerate(runs)]
        # Every delivery delivered (or given up): a second delivery of any callback is impossible
        # after this. A bounded poll on the shared store, which another process writes.
        deadline = time.monotonic() + 20
        pending = "SELECT count(*) FROM deliveries WHERE state = 'pending'"
        while (len(recorder.calls) < 20 or cluster.rows(pending)[0][0]) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.1)
    assert [t["status"] for t in done] == ["task_postprocess_end"] * 20
    assert all(t["pexit"] == "0" for t in done)
    assert frames[-1]["type"] == "task_postprocess_end" and frames[-1]["message"]
    for r in runs:
        a, b = (api.detail(project, r["taskid"]) for api in apis)
        assert (a["status"], a["outputs"][0]["id"]) == (b["status"], b["outputs"][0]["id"])
        for api, detail in ((apis[0], b), (apis[1], a)):  # each output from the other replica
            url = detail["outputs"][0]["url"].replace(
                detail["outputs"][0]["url"].split("/v1/")[0], api.url
            )
            response = httpx.get(url, timeout=10)
            assert response.status_code == 200 and response.content[4:8] == b"ftyp"
    lists = [
        api.post("/v1/Task/List", project, json={"limit": 50}).json()["tasklist"] for api in apis
    ]
    assert [(t["id"], t["status"]) for t in lists[0]] == [(t["id"], t["status"]) for t in lists[1]]
    ids = [json.loads(body)["tasklist"][0]["id"] for _, body in recorder.calls]
    assert sorted(ids, key=int) == sorted((r["taskid"] for r in runs), key=int)  # exactly once
    workers = cluster.rows("SELECT DISTINCT worker FROM tasks WHERE worker <> ''")
    assert len(workers) == 2, workers


def _holder_pid(cluster: Cluster, task_id: str) -> int:
    """The `s2v worker` process that holds the task (its name is celery@host.<pid>-<child pid>)."""
    (worker,) = cluster.rows("SELECT worker FROM tasks WHERE id = :i", i=int(task_id))[0]
    return int(worker.rsplit("-", 1)[0].rsplit(".", 1)[1])


def test_kill_9_of_a_worker_redelivers_its_task(cluster: Cluster, face: bytes) -> None:
    """kill -9 of the worker running a task: the other worker runs it again and it finishes."""
    project, api = cluster.project, cluster.apis[0]  # type: ignore[attr-defined]
    task = run(api, project, face, SLOW)
    api.wait(project, task["taskid"], until=lambda t: t["status"] == "task_start", timeout=60)
    pid = _holder_pid(cluster, task["taskid"])
    victim = next(w for w in cluster.workers if w.pid == pid)
    victim.stop(signal.SIGKILL)
    done = api.wait(project, task["taskid"], timeout=90)
    assert (done["status"], done["pexit"]) == ("task_postprocess_end", "0"), done["debugerror"]
    assert "retrying (attempt 2)" in done["debugoutput"]
    victim.start().wait_ready()


def test_kill_and_cancel_reach_tasks_on_any_worker(cluster: Cluster, face: bytes) -> None:
    """Kill running tasks on both workers through the other API, Cancel a queued one; then the
    workers take the next task."""
    project, apis = cluster.project, cluster.apis  # type: ignore[attr-defined]
    running = [run(apis[i], project, face, SLOW) for i in range(2)]
    queued = run(apis[0], project, face, SLOW)
    for i, r in enumerate(running):
        apis[i].wait(project, r["taskid"], until=lambda t: t["status"] == "task_start", timeout=60)
    assert apis[1].detail(project, queued["taskid"])["status"] == "task_queue"
    response = apis[1].post("/v1/Task/Cancel", project, json={"taskid": queued["taskid"]})
    assert response.status_code == 200, response.text
    for i, r in enumerate(running):
        response = apis[1 - i].post("/v1/Task/Kill", project, json={"taskid": r["taskid"]})
        assert response.status_code == 200, response.text
    started = time.monotonic()
    for i, r in enumerate(running):
        apis[i].wait(project, r["taskid"], timeout=30, until=lambda t: t["status"] == "task_cancel")
    holders = cluster.rows(
        "SELECT worker FROM tasks WHERE id IN (:a, :b) AND canceltime IS NOT NULL",
        a=int(running[0]["taskid"]),
        b=int(running[1]["taskid"]),
    )
    assert len(holders) == 2
    after = [run(apis[i], project, face, FAST) for i in range(2)]
    for i, r in enumerate(after):
        assert apis[i].wait(project, r["taskid"], timeout=60)["pexit"] == "0"
    assert time.monotonic() - started < 60
    assert apis[0].detail(project, queued["taskid"])["status"] == "task_cancel"


def test_kill_9_of_an_api_mid_upload_half_creates_nothing(cluster: Cluster, face: bytes) -> None:
    """kill -9 of an API while a multipart upload streams in: no task without its input."""
    api = cluster.apis[0]
    before = cluster.rows("SELECT count(*) FROM tasks")[0][0]
    boundary = "s2vboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="inputImageFirst"; '
        'filename="face.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
    ).encode()
    body = head + face + f"\r\n--{boundary}--\r\n".encode()
    headers = cluster.project.headers()  # type: ignore[attr-defined]
    request = (
        f"POST /v1/Run/{SLUG} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        + f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", api.port)) as conn:
        conn.sendall(request + body[: len(body) // 2])
        time.sleep(0.3)  # on purpose: the API is mid-upload, not yet at the first byte, when killed
        api.stop(signal.SIGKILL)
    assert cluster.rows("SELECT count(*) FROM tasks")[0][0] == before
    orphans = cluster.rows("SELECT id FROM tasks WHERE input_path IS NULL")
    assert orphans == []
    shared = Path(cluster.env["S2V_STORAGE_URL"])
    for (input_path,) in cluster.rows("SELECT input_path FROM tasks"):
        assert input_path is not None and (shared / input_path).exists()
    api.start()


def test_redis_restart_during_a_run_loses_no_task(cluster: Cluster, face: bytes) -> None:
    """Redis restarts empty while tasks run and wait: every task still finishes."""
    project, apis = cluster.project, cluster.apis  # type: ignore[attr-defined]
    runs = [run(apis[i % 2], project, face, SLOW if i < 2 else FAST) for i in range(5)]
    apis[0].wait(project, runs[0]["taskid"], until=lambda t: t["status"] == "task_start")
    cluster.redis.stop()
    time.sleep(1.0)  # on purpose: an outage of a second, long enough for both sides to notice
    cluster.redis.start()
    done = [apis[i % 2].wait(project, r["taskid"], timeout=120) for i, r in enumerate(runs)]
    assert [(t["status"], t["pexit"]) for t in done] == [("task_postprocess_end", "0")] * 5


def test_events_reach_the_other_replica_quickly(cluster: Cluster, face: bytes) -> None:
    """A Kill on one replica reaches a WebSocket on the other within 250 ms."""
    project, apis = cluster.project, cluster.apis  # type: ignore[attr-defined]
    task = run(apis[0], project, face, SLOW)
    apis[0].wait(project, task["taskid"], until=lambda t: t["status"] == "task_start", timeout=60)
    seen = threading.Event()
    with connect(f"ws://127.0.0.1:{apis[1].port}/v1") as ws:
        ws.recv(timeout=5)
        ws.send(json.dumps({"type": "task_info", "tasktoken": task["socketaccesstoken"]}))
        ws.recv(timeout=5)  # the current status
        sent = time.monotonic()
        apis[0].post("/v1/Task/Kill", project, json={"taskid": task["taskid"]})
        while not seen.is_set():
            if json.loads(ws.recv(timeout=5))["type"] == "task_cancel":
                seen.set()
        latency = time.monotonic() - sent
    assert latency < 0.25 + 0.1, latency  # the Kill request's own round trip is included


def test_an_image_url_is_fetched_by_the_api_replica(cluster: Cluster, face: bytes) -> None:
    """In scale-out the API replica that took the Run fetches its image and stores it in the
    shared storage before sending the task; the worker only reads it."""
    project, apis = cluster.project, cluster.apis  # type: ignore[attr-defined]
    fetched: list[str] = []

    def image(handler: object) -> None:
        fetched.append("GET")
        send(handler, 200, face, "image/jpeg")  # type: ignore[arg-type]

    with fixture_server({"/face.jpg": image}) as host:
        response = apis[1].run(
            project, data={"inputImageFirstUrl": f"{host}/face.jpg", "prompt": FAST}
        )
        assert response.status_code == 200, response.text
        taskid = response.json()["taskid"]
        task = apis[0].wait(project, taskid, timeout=120)
    assert task["pexit"] == "0", task["debugerror"]
    assert fetched == ["GET"]
    assert "fetching the image (the API's fetch stage)" in task["debugoutput"]
    (input_path,) = cluster.rows("SELECT input_path FROM tasks WHERE id = :id", id=int(taskid))[0]
    assert input_path and input_path.startswith("inputs/"), input_path
    assert apis[1].log_path is not None
    assert "inputs fetched and stored" in apis[1].log_path.read_text(errors="replace")
