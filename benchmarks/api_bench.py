"""API benchmark: Task/Detail under 32 concurrent clients vs a bare FastAPI route, and the latency
from submitting a task to its task_start event with the worker idle.

Run: `make bench` (or `.venv/bin/python benchmarks/api_bench.py`). Needs `wrk` (Debian package).
Both servers are single uvicorn processes on this machine; wrk runs beside them, so figures are
comparable with each other (the ratio), not with another machine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import connect

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.utils.images import face_jpeg  # noqa: E402
from tests.utils.server import Project, Server, free_port  # noqa: E402

CONNECTIONS = 32
SECONDS = 8
LUA = """
wrk.method = "POST"
wrk.body = '{"taskid": "%s"}'
wrk.headers["Content-Type"] = "application/json"
%s
"""


def wrk(url: str, taskid: str, headers: dict[str, str]) -> dict[str, float]:
    """Requests per second and latency percentiles (ms) from one wrk run."""
    lines = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items())
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA % (taskid, lines))
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{CONNECTIONS}",
            f"-d{SECONDS}s",
            "--latency",
            "-s",
            script.name,
            f"{url}/v1/Task/Detail",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    os.unlink(script.name)
    if "Non-2xx" in out:
        raise RuntimeError(f"errors during the run:\n{out}")

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return {"rps": rps, "p50": ms("50"), "p99": ms("99")}


def start_bare(document: dict[str, Any]) -> subprocess.Popen[bytes]:
    port = free_port()
    env = {**os.environ, "BARE_DOCUMENT": json.dumps(document), "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "benchmarks.bare_app:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        cwd=REPO,
    )
    for _ in range(100):
        try:
            httpx.post(f"http://127.0.0.1:{port}/v1/Task/Detail", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    return proc


def start_latency(server: Server, project: Project, face: bytes, n: int = 15) -> list[float]:
    """Milliseconds from sending Run to receiving task_start over the WebSocket, worker idle.

    The client keeps its connection, as a real one does (a new httpx client per call spends
    ~30 ms building its TLS context before sending anything).
    """
    samples = []
    files = {"inputImageFirst": ("face.jpg", face, "image/jpeg")}
    url = f"{server.url}/v1/Run/MiniMax/image-to-video-hailuo-01-subject"
    with connect(f"ws://127.0.0.1:{server.port}/v1") as ws, httpx.Client(timeout=30) as client:
        ws.recv(timeout=5)
        for _ in range(n):
            headers = project.headers()
            sent = time.perf_counter()
            run = client.post(url, headers=headers, files=files).json()
            ws.send(json.dumps({"type": "task_info", "tasktoken": run["socketaccesstoken"]}))
            while json.loads(ws.recv(timeout=30))["type"] != "task_start":
                pass
            samples.append((time.perf_counter() - sent) * 1000)
            server.post("/v1/Task/Kill", project, json={"taskid": run["taskid"]})
            while json.loads(ws.recv(timeout=30))["type"] != "task_cancel":
                pass
            time.sleep(0.5)  # let the worker go idle again
    return samples


def main() -> dict[str, Any]:
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk")
    data_dir = Path(tempfile.mkdtemp(prefix="s2v-bench-"))
    server = Server(data_dir, env={"S2V_ENGINE": "camera", "S2V_LOG_LEVEL": "WARNING"})
    server.start()
    bare = None
    try:
        project = server.keys("bench")
        face = face_jpeg()
        run = server.run(project, files={"inputImageFirst": ("face.jpg", face, "image/jpeg")})
        taskid = run.json()["taskid"]
        server.wait(project, taskid)
        # One nonce and signature reused, as Wiro's documented flow does (compat policy).
        headers = project.headers()
        document = server.post(
            "/v1/Task/Detail", project, headers=headers, json={"taskid": taskid}
        ).json()
        bare = start_bare(document)
        ours, base = [], []
        for _ in range(2):  # interleaved, so both see the same machine state
            base.append(wrk(bare.url, taskid, {}))  # type: ignore[attr-defined]
            ours.append(wrk(server.url, taskid, headers))
        latency = start_latency(server, project, face)
    finally:
        server.stop()
        if bare is not None:
            bare.terminate()
            bare.wait()
        shutil.rmtree(data_dir, ignore_errors=True)

    def best(runs: list[dict[str, float]]) -> dict[str, float]:
        return max(runs, key=lambda r: r["rps"])

    result = {
        "detail_ours": best(ours),
        "detail_bare": best(base),
        "ratio": best(ours)["rps"] / best(base)["rps"],
        "start_latency_ms": {
            "median": statistics.median(latency),
            "p90": sorted(latency)[int(0.9 * (len(latency) - 1))],
            "n": len(latency),
        },
    }
    return result


def report(result: dict[str, Any]) -> str:
    o, b = result["detail_ours"], result["detail_bare"]
    lat = result["start_latency_ms"]
    return "\n".join(
        [
            f"Task/Detail, {CONNECTIONS} concurrent clients ({SECONDS} s wrk runs, best of 2):",
            "| server | requests/s | p50 ms | p99 ms |",
            "|---|---|---|---|",
            f"| subject2video | {o['rps']:.0f} | {o['p50']:.2f} | {o['p99']:.2f} |",
            f"| bare FastAPI route, same JSON | {b['rps']:.0f} | {b['p50']:.2f} | {b['p99']:.2f} |",
            f"| ratio | {result['ratio']:.2f}x | | |",
            "",
            f"Submit → task_start with the worker idle: median {lat['median']:.0f} ms, "
            f"p90 {lat['p90']:.0f} ms ({lat['n']} tasks)",
        ]
    )


if __name__ == "__main__":
    outcome = main()
    print(report(outcome))
    print(json.dumps(outcome))
