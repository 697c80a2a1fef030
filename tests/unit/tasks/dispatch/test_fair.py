"""The fair queue: round-robin across projects, each project's tasks in order, a running cap."""

from __future__ import annotations

import threading
from collections import Counter

from subject2video.tasks.dispatch.fair import FairQueue

PROJECTS = {**{i: 1 for i in range(1, 9)}, 20: 2, 21: 2, 30: 3}


def _queue(cap: int = 0) -> FairQueue:
    return FairQueue(PROJECTS.get, cap=cap)


def test_a_newcomer_goes_before_a_backlog_and_each_project_keeps_its_order() -> None:
    fair = _queue()
    for task_id in range(1, 9):
        fair.put(task_id)
    first = fair.get()
    assert first == (1, 1)
    fair.put(20)
    fair.put(21)
    fair.put(30)
    order = []
    for _ in range(10):
        taken = fair.get()
        assert taken is not None
        order.append(taken[0])
        fair.done(taken[1])
    # Project 2 and 3 come next (never served), then the round goes on; 1's own order holds.
    assert order == [20, 30, 2, 21, 3, 4, 5, 6, 7, 8]


def test_a_task_is_queued_once_and_the_cap_holds() -> None:
    fair = _queue(cap=1)
    for task_id in (1, 2, 2, 20):
        fair.put(task_id)
    assert fair.waiting() == 3
    assert fair.get() == (1, 1)
    assert fair.get() == (20, 2)  # project 1 is at its cap: 2 waits
    got: list[tuple[int, int] | None] = []
    waiter = threading.Thread(target=lambda: got.append(fair.get()))
    waiter.start()
    waiter.join(0.2)
    assert got == []  # nothing may run: both projects at their cap
    fair.done(1)
    waiter.join(2)
    assert got == [(2, 1)]
    fair.stop_one()
    assert fair.get() is None


def test_take_follows_the_running_counts_it_is_given() -> None:
    """The scale-out sender's use: running counts read from the store, taken without blocking."""
    fair = FairQueue(cap=1)
    for task_id, project in ((1, 1), (2, 1), (20, 2)):
        fair.put(task_id, project)
    fair.set_running(Counter({1: 1}))  # project 1 has a task running elsewhere: at its cap
    assert fair.take() == (20, 2)
    assert fair.take() is None  # both projects at the cap now
    fair.set_running(Counter())  # the store says nothing runs any more
    assert fair.take() == (1, 1)
    assert fair.take() is None


def test_retain_forgets_tasks_no_longer_waiting_and_keeps_the_order() -> None:
    fair = FairQueue()
    for task_id in (1, 2, 3, 4):
        fair.put(task_id, 1)
    fair.retain({2, 4})  # 1 and 3 were cancelled, or sent by another holder
    fair.put(5, 1)
    fair.put(4, 1)  # already waiting: not queued twice
    assert fair.waiting() == 3
    assert [fair.take(), fair.take(), fair.take(), fair.take()] == [(2, 1), (4, 1), (5, 1), None]
