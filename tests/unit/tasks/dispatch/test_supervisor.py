"""The supervisor's endings, with real engine processes: a worker that dies, a kill ignored.

These start engine child processes (multiprocessing, as `s2v serve` does) but no server: each
test takes a few seconds, most of it the child's imports.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from subject2video.errors import Failure
from subject2video.tasks.dispatch.local import LocalDispatcher
from subject2video.tasks.events import Event
from subject2video.tasks.service import TaskService
from subject2video.tasks.status import Status
from subject2video.tasks.store import Store
from tests.unit.tasks.conftest import Harness, RecordingDispatcher, make_settings
from tests.utils.engines import STUBBORN_LINE


def wait_for(check: Callable[[], Any], reason: str, timeout: float = 90.0) -> Any:
    """Poll `check` until it is truthy; fail saying `reason` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {reason}")


@pytest.fixture
def local(tmp_path: Path) -> Iterator[tuple[Harness, Any]]:
    """A harness whose service feeds a real LocalDispatcher (one supervised engine process)."""
    settings = make_settings(
        tmp_path / "data",
        engine="tests.utils.engines:StubbornEngine",
        task_max_attempts=1,
        kill_grace_seconds=0.5,
    )
    settings.data_dir.mkdir(parents=True)
    store = Store(settings.db_url)
    store.create_schema()
    events: list[Event] = []
    dispatcher = LocalDispatcher(settings, store, events.append)
    dispatcher.start()
    service = TaskService(settings, store, dispatcher, events.append)
    harness = Harness(
        settings, store, events, RecordingDispatcher(), service, store.create_project("p")
    )
    try:
        wait_for(dispatcher.is_ready, "the engine process to be ready")
        yield harness, dispatcher
    finally:
        dispatcher.stop()
        store.dispose()


def test_worker_died_fails_the_task_and_is_replaced(local: tuple[Harness, Any]) -> None:
    harness, dispatcher = local
    task = harness.submit(prompt="hang")  # never finishes by itself
    wait_for(lambda: harness.task(task.id).status == Status.start.value, "the task to start")
    first = dispatcher.supervisor.worker_pid
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: Status(harness.task(task.id).status).is_final, "the task to end")
    # The callback is recorded just after the final transition: wait for it, not a race.
    wait_for(lambda: harness.deliveries(task.id), "the callback to be recorded")
    ended = harness.task(task.id)
    assert (ended.status, ended.pexit, ended.failure) == (
        Status.postprocess_end.value,
        "1",
        Failure.worker.value,
    )
    assert harness.types(task.id)[-2:] == ["task_error", "task_postprocess_end"]
    assert len(harness.deliveries(task.id)) == 1
    wait_for(
        lambda: dispatcher.is_ready() and dispatcher.supervisor.worker_pid != first,
        "a new engine process",
    )


def test_ignored_kill_ends_the_process_and_the_task(local: tuple[Harness, Any]) -> None:
    """A kill that reaches only the worker (as Celery's kill channel does) and is ignored."""
    harness, dispatcher = local
    task = harness.submit(prompt="hang")
    wait_for(lambda: STUBBORN_LINE in harness.task(task.id).debugoutput, "the engine to hang")
    first = dispatcher.supervisor.worker_pid
    dispatcher.kill(task.id)  # the store still says it runs: the supervisor must end it
    wait_for(lambda: harness.task(task.id).status == Status.cancel.value, "the task to end")
    wait_for(lambda: harness.deliveries(task.id), "the callback to be recorded")
    assert harness.task(task.id).failure == Failure.killed.value
    assert harness.types(task.id)[-1] == "task_cancel"
    # The callback is recorded just after the final status: wait for it, do not race it.
    wait_for(lambda: len(harness.deliveries(task.id)) == 1, "the callback to be recorded")
    wait_for(
        lambda: dispatcher.is_ready() and dispatcher.supervisor.worker_pid != first,
        "a new engine process",
    )


def test_start_up_ends_what_a_dead_server_left(tmp_path: Path) -> None:
    """A task whose worker died with the last server, its attempts spent, is ended at start-up."""
    settings = make_settings(tmp_path / "data", task_max_attempts=1)
    settings.data_dir.mkdir(parents=True)
    store = Store(settings.db_url)
    store.create_schema()
    events: list[Event] = []
    dispatcher = LocalDispatcher(settings, store, events.append)
    harness = Harness(
        settings,
        store,
        events,
        RecordingDispatcher(),
        TaskService(settings, store, RecordingDispatcher(), events.append),
        store.create_project("p"),
    )
    task = harness.submit()
    harness.start(task.id, worker="local-99999")
    dispatcher.start()
    try:
        ended = harness.task(task.id)
        assert (ended.status, ended.failure) == (Status.postprocess_end.value, "worker")
        assert harness.types(task.id)[-2:] == ["task_error", "task_postprocess_end"]
        assert len(harness.deliveries(task.id)) == 1
    finally:
        dispatcher.stop()
        store.dispose()
