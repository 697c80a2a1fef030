"""Fair queueing on the Celery deployment: real Redis, PostgreSQL, `s2v serve` replicas with a
broker and `s2v worker` processes. One project's backlog does not make another's task wait
behind it, and `S2V_MAX_RUNNING_PER_PROJECT` holds there too (tasks/dispatch/sender.py)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.faults.conftest import PACED, submit
from tests.utils.cluster import Redis, Worker, need_services, postgres_database, s2v
from tests.utils.figures import record
from tests.utils.server import Project, Server

#: About 3 s a task (150 frames): long enough that a backlog submitted at once is still queued
#: when the other project's task arrives.
ENV = {
    "S2V_ENGINE": PACED,
    "S2V_TEST_FRAME_DELAY": "0.02",
    "S2V_WORKER_HEARTBEAT_SECONDS": "2",
    "S2V_RESUBMIT_AFTER_SECONDS": "30",
    "S2V_KILL_GRACE_SECONDS": "2",
}


class Deployment:
    """Scale-out on one machine: replicas and workers on one store, broker and shared storage."""

    def __init__(self, root: Path, redis: Redis, database_url: str, env: dict[str, str]) -> None:
        self.env = {
            **ENV,
            "S2V_DATABASE_URL": database_url,
            "S2V_BROKER_URL": redis.url,
            "S2V_STORAGE_URL": str(root / "shared"),
            **env,
        }
        self.root = root
        self.apis: list[Server] = []
        self.workers: list[Worker] = []
        self.db = create_engine(database_url)
        s2v(["db", "upgrade", "--data-dir", str(root / "admin")], self.env)

    def api(self) -> Server:
        server = Server(self.root / f"api{len(self.apis)}", env=self.env)
        self.apis.append(server)
        return server.start()

    def worker(self) -> Worker:
        worker = Worker(self.root / f"worker{len(self.workers)}", self.env)
        self.workers.append(worker)
        worker.start().wait_ready()
        return worker

    def rows(self, ids: list[str]) -> dict[int, dict]:
        with self.db.connect() as conn:
            found = conn.execute(
                text("SELECT * FROM tasks WHERE id = ANY(:ids)"), {"ids": [int(i) for i in ids]}
            )
            return {r.id: dict(r._mapping) for r in found}

    def stop(self) -> None:
        for api in self.apis:
            api.stop()
        for worker in self.workers:
            worker.stop()
        self.db.dispose()


@contextmanager
def deployment(root: Path, **env: str) -> Iterator[Deployment]:
    need_services()
    redis = Redis().start()
    try:
        with postgres_database() as url:
            d = Deployment(root, redis, url, env)
            try:
                yield d
            finally:
                d.stop()
    finally:
        redis.stop()


def wait_all(api: Server, tasks: list[tuple[Project, str]]) -> None:
    for project, taskid in tasks:
        done = api.wait(project, taskid, timeout=240)
        assert done["pexit"] == "0", done["debugerror"]


def test_a_backlog_delays_another_project_by_one_task_at_most(tmp_path: Path, face: bytes) -> None:
    with deployment(tmp_path) as d:
        d.worker()
        first, second = d.api(), d.api()  # the second replica only stores and wakes the holder
        a, b = first.keys("a"), first.keys("b")
        backlog = [submit(second if i % 2 else first, a, face) for i in range(6)]
        newcomer = submit(second, b, face)
        wait_all(first, [*((a, t) for t in backlog), (b, newcomer)])
        rows = d.rows([*backlog, newcomer])
    started = {i: r["accepttime"] for i, r in rows.items()}
    before = [t for t in backlog if started[int(t)] < started[int(newcomer)]]
    a_starts = [started[int(t)] for t in backlog]
    assert len(before) <= 1, f"{len(before)} of the backlog ran before the newcomer"
    assert a_starts == sorted(a_starts), "the backlog ran out of its order"
    record("faults: fair queue, scale-out backlog", tried=1, handled=1, got_through=0)


def test_the_running_cap_per_project_holds(tmp_path: Path, face: bytes) -> None:
    with deployment(tmp_path, S2V_MAX_RUNNING_PER_PROJECT="1") as d:
        d.worker()
        d.worker()
        api = d.api()
        a, b = api.keys("a"), api.keys("b")
        backlog = [submit(api, a, face) for _ in range(4)]
        newcomer = submit(api, b, face)
        wait_all(api, [*((a, t) for t in backlog), (b, newcomer)])
        rows = d.rows([*backlog, newcomer])
    a_rows = [rows[int(t)] for t in backlog]
    spans = sorted((r["accepttime"], r["postprocessendtime"]) for r in a_rows)
    overlaps = [(one, two) for one, two in itertools.pairwise(spans) if two[0] < one[1]]
    assert not overlaps, f"two of one project's tasks ran at once: {spans}"
    assert rows[int(newcomer)]["accepttime"] < spans[1][0], "the newcomer waited behind the backlog"
    record("faults: fair queue, scale-out cap", tried=1, handled=1, got_through=0)
