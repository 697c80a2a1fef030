"""Throughput of `s2v serve --workers N`: 1, 2 and the default N, in one run, same machine.

Each configuration is a fresh server on its own data dir; `--tasks` tasks are submitted at once
(the portrait engine by default) and the clock runs from the first submit to the last task's end.
Also reported: the load average during each configuration and the engine seconds per task that
`s2v usage` records (how much slower each task gets when workers share cores). Usage:
    PYTHONPATH=src:. python benchmarks/workers_bench.py [--tasks 8] [--engine portrait]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from tests.utils.images import face_jpeg
from tests.utils.server import Project, Server

from subject2video.config import Settings
from subject2video.tasks.dispatch.sizing import usable_cores, worker_plan

PROMPT = "She smiles and slowly turns her head to the left"


def run(server: Server, project: Project, face: bytes, tasks: int) -> tuple[float, list[float]]:
    """Tasks per minute for `tasks` submitted at once, and each task's engine seconds."""
    files = {"inputImageFirst": ("face.jpg", face, "image/jpeg")}
    started = time.monotonic()
    ids = []
    for _ in range(tasks):
        response = server.run(project, files=files, data={"prompt": PROMPT})
        response.raise_for_status()
        ids.append(response.json()["taskid"])
    details = [server.wait(project, taskid, timeout=900) for taskid in ids]
    elapsed = time.monotonic() - started
    assert all(d["pexit"] == "0" for d in details), [d["debugerror"] for d in details]
    # With S2V_PRICE_PER_SECOND=1, totalcost is the task's engine seconds.
    return tasks / elapsed * 60, [float(d["totalcost"]) for d in details]


def measure(engine: str, workers: int, tasks: int, root: Path, face: bytes) -> str:
    env = {"S2V_ENGINE": engine, "S2V_WORKERS": str(workers), "S2V_PRICE_PER_SECOND": "1"}
    server = Server(root / f"w{workers}", env=env).start(timeout=180)
    try:
        project = server.keys("bench")
        run(server, project, face, 1)  # warm: every worker has its models loaded by now
        load_before = os.getloadavg()[0]
        per_minute, seconds = run(server, project, face, tasks)
        load_after = os.getloadavg()[0]
    finally:
        server.stop()
    return (
        f"| {workers} | {tasks} | {per_minute:.1f} | {statistics.mean(seconds):.1f} s | "
        f"{load_before:.1f} → {load_after:.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=8)
    parser.add_argument("--engine", default="portrait")
    args = parser.parse_args()
    default = worker_plan(Settings(engine=args.engine, workers=0))
    face = face_jpeg()
    print(f"engine {args.engine}; {usable_cores()} usable cores; default N = {default.count}")
    print(f"({default.reason})\n")
    print("| workers | tasks | tasks per minute | engine seconds per task | load average |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="s2v-workers-bench-") as tmp:
        for workers in dict.fromkeys([1, 2, default.count]):
            print(measure(args.engine, workers, args.tasks, Path(tmp), face), flush=True)
        if default.count in (1, 2):
            print(f"\n(the default N is {default.count} here, so its row is the one above)")


if __name__ == "__main__":
    main()
