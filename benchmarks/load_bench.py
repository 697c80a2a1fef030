"""Load benchmark: 60 s of mixed traffic from 64 clients against `s2v serve` (camera engine).

Clients: Run with an upload (several projects, so the per-project limit bites less; 429s are
counted apart, they are not errors), Task/Detail polling, and WebSocket subscribers. Reports
requests/s and p50/p99 latency per kind, 5xx count, tasks accepted vs final, duplicates, and the
API process's RSS at start and end.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import psutil
import websockets

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.utils.images import face_jpeg  # noqa: E402
from tests.utils.server import SLUG, Project, Server  # noqa: E402

SECONDS = 60
CLIENTS = 64
PROJECTS = 8
KINDS = ("run", "detail", "websocket")


class Load:
    """Shared counters of one run."""

    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.status: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.accepted: dict[str, Project] = {}
        self.tokens: dict[str, str] = {}
        self.duplicates = 0


async def _run_client(load: Load, url: str, project: Project, face: bytes, end: float) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        while time.monotonic() < end:
            started = time.perf_counter()
            files = {"inputImageFirst": ("f.jpg", face, "image/jpeg")}
            answer = await client.post(
                f"{url}/v1/Run/{SLUG}", headers=project.headers(), files=files
            )
            load.latency["run"].append(time.perf_counter() - started)
            load.status["run"][answer.status_code] += 1
            if answer.status_code == 200:
                taskid = answer.json()["taskid"]
                load.duplicates += taskid in load.accepted
                load.accepted[taskid] = project
                load.tokens[taskid] = answer.json()["socketaccesstoken"]
            else:
                await asyncio.sleep(0.5)


async def _detail_client(load: Load, url: str, projects: list[Project], end: float) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        while time.monotonic() < end:
            if not load.accepted:
                await asyncio.sleep(0.1)
                continue
            taskid, project = random.choice(list(load.accepted.items()))
            started = time.perf_counter()
            answer = await client.post(
                f"{url}/v1/Task/Detail", headers=project.headers(), json={"taskid": taskid}
            )
            load.latency["detail"].append(time.perf_counter() - started)
            load.status["detail"][answer.status_code] += 1


async def _socket_client(load: Load, url: str, end: float) -> None:
    """Subscribe to a recent task; the latency is from subscribing to its first frame."""
    while time.monotonic() < end:
        if not load.accepted:
            await asyncio.sleep(0.1)
            continue
        async with websockets.connect(url.replace("http", "ws") + "/v1") as ws:
            await ws.recv()
            token = load.tokens[list(load.accepted)[-1]]
            started = time.perf_counter()
            await ws.send(json.dumps({"type": "task_info", "tasktoken": token}))
            await asyncio.wait_for(ws.recv(), 10)
            load.latency["websocket"].append(time.perf_counter() - started)
            load.status["websocket"][101] += 1
            await asyncio.sleep(0.2)


def _rss(pid: int) -> int:
    return psutil.Process(pid).memory_info().rss


async def _drive(server: Server, projects: list[Project], face: bytes) -> Load:
    load = Load()
    end = time.monotonic() + SECONDS
    runs, details = CLIENTS // 4, CLIENTS // 2
    sockets = CLIENTS - runs - details
    jobs = [_run_client(load, server.url, projects[i % PROJECTS], face, end) for i in range(runs)]
    jobs += [_detail_client(load, server.url, projects, end) for _ in range(details)]
    jobs += [_socket_client(load, server.url, end) for _ in range(sockets)]
    await asyncio.gather(*jobs)
    return load


def main() -> dict[str, Any]:
    """Run the load and collect the figures."""
    face = face_jpeg()
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp), env={"S2V_ENGINE": "camera", "S2V_MAX_ACTIVE_TASKS": "8"})
        projects = [server.keys(f"load{i}", key_only=True) for i in range(PROJECTS)]
        server.start()
        try:
            rss_start = _rss(server.proc.pid)
            load = asyncio.run(_drive(server, projects, face))
            rss_end = _rss(server.proc.pid)
            final, lost = _settle(server, load)
            log = server.log()
        finally:
            server.stop()
    figures: dict[str, Any] = {"seconds": SECONDS, "clients": CLIENTS}
    for kind in KINDS:
        times = sorted(load.latency[kind]) or [0.0]
        figures[kind] = {
            "requests": len(load.latency[kind]),
            "per_second": round(len(load.latency[kind]) / SECONDS, 1),
            "p50_ms": round(statistics.median(times) * 1000, 1),
            "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))] * 1000, 1),
            "status": dict(load.status[kind]),
        }
    figures["server_errors"] = sum(
        n for kind in KINDS for code, n in load.status[kind].items() if code >= 500
    )
    figures["rejected_429"] = load.status["run"].get(429, 0)
    figures["tasks_accepted"] = len(load.accepted)
    figures["tasks_final"] = final
    figures["tasks_lost"] = lost
    figures["duplicates"] = load.duplicates
    figures["rss_start_mb"] = round(rss_start / 2**20, 1)
    figures["rss_end_mb"] = round(rss_end / 2**20, 1)
    figures["worker_died"] = "worker died" in log
    return figures


def _settle(server: Server, load: Load, timeout: float = 240) -> tuple[int, int]:
    """Wait until every accepted task is final; count final and lost (never final) tasks."""
    pending = dict(load.accepted)
    deadline = time.monotonic() + timeout
    final = 0
    while pending and time.monotonic() < deadline:
        for taskid, project in list(pending.items()):
            task = server.detail(project, taskid)
            if task["status"] in ("task_postprocess_end", "task_cancel"):
                final += 1
                del pending[taskid]
        time.sleep(0.5)
    return final, len(pending)


def report(figures: dict[str, Any]) -> str:
    """The figures as a markdown table."""
    rows = [
        "| kind | requests | req/s | p50 ms | p99 ms | statuses |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for kind in KINDS:
        f = figures[kind]
        rows.append(
            f"| {kind} | {f['requests']} | {f['per_second']} | {f['p50_ms']} | {f['p99_ms']} "
            f"| {f['status']} |"
        )
    rows.append("")
    rows.append(
        f"{figures['clients']} clients for {figures['seconds']} s: 5xx {figures['server_errors']}, "
        f"429 {figures['rejected_429']}, tasks accepted {figures['tasks_accepted']}, final "
        f"{figures['tasks_final']}, lost {figures['tasks_lost']}, duplicates "
        f"{figures['duplicates']}; API RSS {figures['rss_start_mb']} MB at start, "
        f"{figures['rss_end_mb']} MB at end; worker died: {figures['worker_died']}"
    )
    return "\n".join(rows)


if __name__ == "__main__":
    outcome = main()
    print(json.dumps(outcome, indent=2))
    print(report(outcome))
