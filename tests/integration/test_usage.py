"""`s2v usage` and the per-project Prometheus figures match the tasks a real server made."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx

from tests.utils.images import cat_jpeg
from tests.utils.server import S2V, Server


def _usage(server: Server, *args: str) -> list[dict]:
    out = subprocess.run(
        [*S2V, "usage", "--json", "--data-dir", str(server.data_dir), *args],
        env=server._env(),
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def test_usage_totals_match_the_tasks_made(tmp_path: Path, face: bytes) -> None:
    env = {"S2V_ENGINE": "camera", "S2V_PRICE_PER_SECOND": "0.5"}
    srv = Server(tmp_path / "usage", env=env).start()
    try:
        alpha, beta = srv.keys("alpha"), srv.keys("beta", key_only=True)
        made = {"alpha": [], "beta": []}
        for project, image in ((alpha, face), (alpha, face), (alpha, cat_jpeg()), (beta, face)):
            files = {"inputImageFirst": ("in.jpg", image, "image/jpeg")}
            taskid = srv.run(project, files=files).json()["taskid"]
            made[project.name].append(srv.wait(project, taskid))
        metrics = httpx.get(f"{srv.url}/metrics", timeout=10).text
    finally:
        srv.stop()

    rows = {row["name"]: row for row in _usage(srv)}
    for name, tasks in made.items():
        row = rows[name]
        assert row["tasks"] == len(tasks)
        assert row["finished"] == sum(t["pexit"] == "0" for t in tasks)
        assert row["failed"] == sum(t["pexit"] == "1" for t in tasks)
        assert row["output_bytes"] == sum(int(t["size"]) for t in tasks) > 0
        # Detail's figures are the same numbers: cps is the price, totalcost the task's cost.
        assert all(t["cps"] == "0.500000000000" for t in tasks)
        cost = sum(float(t["totalcost"]) for t in tasks)
        assert abs(row["cost"] - cost) < 1e-6 and row["cost"] > 0
        assert abs(row["engine_seconds"] * 0.5 - row["cost"]) < 1e-9
        assert row["engine_seconds"] >= sum(float(t["elapsedseconds"]) for t in tasks)
        labels = f'project="{name}",project_id="{row["project_id"]}"'
        assert f"s2v_project_tasks{{{labels}}} {float(len(tasks))}" in metrics
        assert f"s2v_project_output_bytes{{{labels}}} {float(row['output_bytes'])}" in metrics
    assert rows["alpha"]["failed"] == 1 and rows["beta"]["finished"] == 1

    [only_beta] = _usage(srv, "--project", "beta")
    assert only_beta == rows["beta"]
    [nothing] = _usage(srv, "--project", "alpha", "--since", "2999-01-01")
    assert (nothing["tasks"], nothing["cost"]) == (0, 0.0)
