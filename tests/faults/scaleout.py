"""The scale-out deployment for fault tests: a private Redis, a fresh PostgreSQL database,
`s2v serve` replicas with the broker and `s2v worker` processes, started as docs/deploy.md says."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.faults.conftest import PACED
from tests.utils.cluster import Redis, Worker, need_services, postgres_database, s2v
from tests.utils.server import Server

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
