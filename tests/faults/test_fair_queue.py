"""One project's backlog does not make another wait behind it: queued tasks are taken round-robin
across projects, each project's own in order, and `S2V_MAX_RUNNING_PER_PROJECT` caps how many of
one project's tasks run at once (the embedded deployment)."""

from __future__ import annotations

import itertools
from pathlib import Path

from tests.faults.conftest import PACED, no_server_errors, row, submit
from tests.utils.server import Server

ENV = {"S2V_ENGINE": PACED, "S2V_TEST_FRAME_DELAY": "0.005"}


def _rows(server: Server, ids: list[str]) -> list[dict]:
    return [row(server, i) for i in ids]


def test_a_backlog_delays_another_project_by_one_task_at_most(
    tmp_path: Path, face: bytes, servers: list[Server]
) -> None:
    srv = Server(tmp_path / "round-robin", env=ENV)
    servers.append(srv)
    srv.start()
    a, b = srv.keys("a"), srv.keys("b")
    backlog = [submit(srv, a, face) for _ in range(6)]
    newcomer = submit(srv, b, face)
    for taskid in [*backlog, newcomer]:
        srv.wait(a if taskid in backlog else b, taskid, timeout=180)
    started = {r["id"]: r["accepttime"] for r in _rows(srv, [*backlog, newcomer])}
    before = [t for t in backlog if started[int(t)] < started[int(newcomer)]]
    assert len(before) <= 1, f"{len(before)} of the backlog ran before the newcomer"
    a_starts = [started[int(t)] for t in backlog]
    assert a_starts == sorted(a_starts), "the backlog ran out of its order"
    no_server_errors(srv)


def test_the_running_cap_per_project_holds(
    tmp_path: Path, face: bytes, servers: list[Server]
) -> None:
    env = {**ENV, "S2V_WORKERS": "2", "S2V_MAX_RUNNING_PER_PROJECT": "1"}
    srv = Server(tmp_path / "cap", env=env)
    servers.append(srv)
    srv.start()
    a, b = srv.keys("a"), srv.keys("b")
    backlog = [submit(srv, a, face) for _ in range(4)]
    newcomer = submit(srv, b, face)
    for taskid in [*backlog, newcomer]:
        srv.wait(a if taskid in backlog else b, taskid, timeout=180)
    spans = sorted((r["accepttime"], r["postprocessendtime"]) for r in _rows(srv, backlog))
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end, f"two of one project's tasks ran at once: {spans}"
    b_row = row(srv, newcomer)
    assert b_row["accepttime"] < spans[1][0], "the other project waited behind the backlog"
    no_server_errors(srv)
