"""Lifecycle.release: a stopped worker's task goes back to the queue without spending an attempt;
a storage health check names what keeps the server from taking work."""

from __future__ import annotations

import os

from subject2video.tasks.health import StorageHealth
from subject2video.tasks.lifecycle import Lifecycle
from subject2video.tasks.status import Status
from tests.unit.tasks.conftest import Harness


def test_release_requeues_and_gives_the_attempt_back(harness: Harness) -> None:
    task = harness.submit()
    claimed = harness.start(task.id)
    assert harness.task(task.id).attempts == 1
    lifecycle = Lifecycle(harness.settings, harness.store, harness.events.append)

    assert lifecycle.release(task.id, holder=claimed.claim, why="the server stopped")
    back = harness.task(task.id)
    assert (back.status, back.attempts, back.claim) == (Status.queue.value, 0, "")
    assert "the server stopped during task_start; back in the queue" in back.debugoutput
    assert harness.types(task.id)[-1] == Status.queue.value
    # Not running any more: nothing to release, nothing changes.
    assert not lifecycle.release(task.id, why="again")
    assert harness.task(task.id).attempts == 0


def test_release_under_another_claim_changes_nothing(harness: Harness) -> None:
    task = harness.submit()
    harness.start(task.id)
    lifecycle = Lifecycle(harness.settings, harness.store, harness.events.append)
    assert not lifecycle.release(task.id, holder="not-the-claim", why="the server stopped")
    assert harness.task(task.id).status == Status.start.value


def test_health_names_a_deleted_database_and_low_free_space(harness: Harness) -> None:
    health = StorageHealth(harness.settings, harness.store)
    assert health._check() is None
    assert harness.store.path is not None
    path = harness.store.path
    backup = path + ".moved"
    os.rename(path, backup)
    try:
        problem = health._check()
        assert problem is not None and "is gone" in problem
    finally:
        os.rename(backup, path)
    assert health._check() is None
    health.min_free = 1 << 62
    problem = health._check()
    assert problem is not None and "S2V_MIN_FREE_MEGABYTES" in problem
