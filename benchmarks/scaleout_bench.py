"""Scale-out benchmark: throughput of 1 vs 2 `s2v worker`s, and submit-to-task_start overhead of the
Celery path against the embedded local dispatcher.

Needs redis-server and PostgreSQL on 127.0.0.1:5432 (as the tests do). Usage:
    PYTHONPATH=src:. python benchmarks/scaleout_bench.py [--tasks 8] [--samples 10]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from tests.utils.cluster import Redis, Worker, postgres_database, s2v
from tests.utils.images import face_jpeg
from tests.utils.server import Project, Server


def submit(api: Server, project: Project, face: bytes) -> str:
    files = {"inputImageFirst": ("face.jpg", face, "image/jpeg")}
    response = api.run(project, files=files, data={"prompt": "She smiles"})
    response.raise_for_status()
    return response.json()["taskid"]


def throughput(api: Server, project: Project, face: bytes, tasks: int) -> float:
    """Tasks per minute for `tasks` tasks submitted at once."""
    started = time.monotonic()
    ids = [submit(api, project, face) for _ in range(tasks)]
    for task_id in ids:
        assert api.wait(project, task_id, timeout=600)["pexit"] == "0"
    return tasks / (time.monotonic() - started) * 60


def start_latency(
    api: Server, project: Project, face: bytes, url: str, samples: int
) -> list[float]:
    """Seconds from the task row's creation to task_start, one task at a time (no queueing)."""
    engine = create_engine(url)
    ids = []
    for _ in range(samples):
        task_id = submit(api, project, face)
        api.wait(project, task_id, timeout=120)
        ids.append(int(task_id))
    listed = ",".join(map(str, ids))
    with engine.connect() as conn:
        rows = conn.execute(
            text(f"SELECT starttime - createtime FROM tasks WHERE id IN ({listed})")
        ).all()
    engine.dispose()
    return [r[0] for r in rows]


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"


def celery_runs(root: Path, face: bytes, tasks: int, samples: int) -> dict[str, object]:
    redis = Redis().start()
    results: dict[str, object] = {}
    try:
        with postgres_database() as url:
            env = {
                "S2V_DATABASE_URL": url,
                "S2V_BROKER_URL": redis.url,
                "S2V_STORAGE_URL": str(root / "shared"),
                "S2V_ENGINE": "camera",
                "S2V_MAX_ACTIVE_TASKS": "100",
            }
            s2v(["db", "upgrade", "--data-dir", str(root / "admin")], env)
            api = Server(root / "api", env=env).start()
            project = api.keys("bench", key_only=True)
            workers = [Worker(root / "w0", env).start()]
            workers[0].wait_ready()
            submit_wait = submit(api, project, face)  # warm both sides
            api.wait(project, submit_wait, timeout=120)
            results["celery_latency"] = start_latency(api, project, face, url, samples)
            results["1 worker"] = throughput(api, project, face, tasks)
            workers.append(Worker(root / "w1", env).start())
            workers[1].wait_ready()
            results["2 workers"] = throughput(api, project, face, tasks)
            api.stop()
            for worker in workers:
                worker.stop()
    finally:
        redis.stop()
    return results


def local_latency(root: Path, face: bytes, samples: int) -> list[float]:
    api = Server(root / "local", env={"S2V_ENGINE": "camera"}).start()
    try:
        project = api.keys("bench", key_only=True)
        api.wait(project, submit(api, project, face), timeout=120)
        return start_latency(api, project, face, f"sqlite:///{root / 'local' / 's2v.db'}", samples)
    finally:
        api.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=8)
    parser.add_argument("--samples", type=int, default=10)
    args = parser.parse_args()
    face = face_jpeg()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        celery = celery_runs(root, face, args.tasks, args.samples)
        local = local_latency(root, face, args.samples)
    cpus = os.cpu_count()
    print(f"machine: {platform.machine()}, {cpus} CPUs; python {platform.python_version()}")
    print(f"camera engine, {args.tasks} tasks submitted at once")
    print(f"  1 worker:  {celery['1 worker']:.1f} tasks/min")
    print(f"  2 workers: {celery['2 workers']:.1f} tasks/min")
    print(f"submit -> task_start, {args.samples} tasks one at a time")
    latency: list[float] = celery["celery_latency"]  # type: ignore[assignment]
    print(f"  celery (redis + postgresql): {summary(latency)}")
    print(f"  local (sqlite, embedded):    {summary(local)}")


if __name__ == "__main__":
    main()
