"""Fair queueing on the Celery deployment: real Redis, PostgreSQL, `s2v serve` replicas with a
broker and `s2v worker` processes. One project's backlog does not make another's task wait
behind it, and `S2V_MAX_RUNNING_PER_PROJECT` holds there too (tasks/dispatch/sender.py)."""

from __future__ import annotations

import itertools
from pathlib import Path

from tests.faults.conftest import submit
from tests.faults.scaleout import deployment
from tests.utils.figures import record
from tests.utils.server import Project, Server


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
    arrived, began = rows[int(newcomer)]["createtime"], started[int(newcomer)]
    # What may go before the newcomer: the task running (or sent) when it arrived, no more.
    between = [t for t in backlog if arrived <= started[int(t)] < began]
    a_starts = [started[int(t)] for t in backlog]
    assert len(between) <= 1, f"{len(between)} of the backlog started while the newcomer waited"
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
