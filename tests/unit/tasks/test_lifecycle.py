"""Every path that ends a task makes the final transition, publishes it and records the callback.

One test per ending path (the table in tasks/lifecycle.py), in-process: the real store, service,
runner and lifecycle, with small engines. Each checks the three parts of an ending, so removing
any one of them from any path fails a test here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from subject2video.engines.base import GenerationContext, GenerationRequest
from subject2video.engines.camera import CameraEngine
from subject2video.errors import Conflict, EngineError, Failure
from subject2video.tasks.lifecycle import Lifecycle
from subject2video.tasks.service import TaskRef
from subject2video.tasks.status import Status
from tests.unit.tasks.conftest import Harness
from tests.utils.images import cat_jpeg

#: Short and small, so that a done task takes a second: 2 s at 25 fps, short side 480.
SHORT = {"seconds": 2, "short_side": 480}


class FailingEngine(CameraEngine):
    """Fails after a few frames, with a domain error or a crash."""

    name = "failing"

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def frames(
        self, request: GenerationRequest, context: GenerationContext
    ) -> Iterator[np.ndarray]:
        for i, frame in enumerate(super().frames(request, context)):
            if i == 3:
                raise self.error
            yield frame


class CheckingEngine(CameraEngine):
    """Checks for a kill before each frame, as a real engine does."""

    name = "checking"

    def frames(
        self, request: GenerationRequest, context: GenerationContext
    ) -> Iterator[np.ndarray]:
        for frame in super().frames(request, context):
            context.check_cancelled()
            yield frame


def assert_ended(
    harness: Harness, task_id: int, status: Status, failure: Failure | None, events: list[str]
) -> Any:
    """The store, the events and the callback all say the task ended, exactly once."""
    task = harness.task(task_id)
    assert task.status == status.value
    assert task.failure == (failure.value if failure else None)
    finals = [t for t in harness.types(task_id) if t == status.value]
    assert finals == [status.value], harness.types(task_id)
    assert harness.types(task_id)[-len(events) :] == events
    assert len(harness.deliveries(task_id)) == 1
    return task


def test_done(harness: Harness) -> None:
    task = harness.submit(**SHORT)
    assert harness.runner(CameraEngine()).run(task.id) == Status.postprocess_end
    ended = assert_ended(harness, task.id, Status.postprocess_end, None, ["task_postprocess_end"])
    assert ended.pexit == "0"
    final = next(e for e in harness.events if e.type == "task_postprocess_end")
    # The event names no dialect's format: the socket reads the outputs for its frame.
    outputs = harness.store.outputs([task.id])[task.id]
    assert final.message is None and [o.name for o in outputs] == ["0.mp4"]
    outputs = harness.store.outputs([task.id])[task.id]
    assert [(o.width, o.height) for o in outputs] == [(480, 480)]


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (EngineError("the model ran out of memory"), "the model ran out of memory"),
        (RuntimeError("boom"), "internal error in the failing engine: RuntimeError"),
    ],
)
def test_failed_in_the_engine(harness: Harness, error: Exception, reason: str) -> None:
    task = harness.submit(**SHORT)
    harness.runner(FailingEngine(error)).run(task.id)
    events = ["task_error", "task_postprocess_end"]
    ended = assert_ended(harness, task.id, Status.postprocess_end, Failure.engine, events)
    assert (ended.pexit, ended.debugerror) == ("1", reason)
    assert harness.store.outputs([task.id])[task.id] == []


def test_failed_on_the_image(harness: Harness) -> None:
    task = harness.submit(image=cat_jpeg(), **SHORT)
    harness.runner(CameraEngine()).run(task.id)
    events = ["task_error", "task_postprocess_end"]
    ended = assert_ended(harness, task.id, Status.postprocess_end, Failure.image, events)
    assert "[inputImageFirstUrl]" in ended.debugerror and "face" in ended.debugerror


def test_failed_on_time(harness: Harness) -> None:
    harness.settings.task_timeout_seconds = 0.001
    task = harness.submit(**SHORT)
    harness.runner(CheckingEngine()).run(task.id)
    events = ["task_error", "task_postprocess_end"]
    ended = assert_ended(harness, task.id, Status.postprocess_end, Failure.timeout, events)
    assert "did not finish within" in ended.debugerror


def test_cancelled_before_it_started(harness: Harness) -> None:
    task = harness.submit()
    harness.service.cancel(harness.project, TaskRef(task_id=task.id))
    assert_ended(harness, task.id, Status.cancel, Failure.killed, ["task_cancel"])
    assert harness.dispatcher.killed == [task.id]
    # A worker that receives it later finds nothing to run.
    assert harness.runner(CameraEngine()).run(task.id) is None


def test_cancel_refused_once_running(harness: Harness) -> None:
    task = harness.submit()
    harness.start(task.id)
    with pytest.raises(Conflict, match="not in a cancellable state"):
        harness.service.cancel(harness.project, TaskRef(task_id=task.id))
    assert harness.task(task.id).status == Status.start.value
    assert harness.deliveries(task.id) == []


def test_killed_while_running(harness: Harness) -> None:
    task = harness.submit()
    harness.start(task.id)
    harness.service.kill(harness.project, TaskRef(task_id=task.id))
    assert_ended(harness, task.id, Status.cancel, Failure.killed, ["task_cancel"])
    assert harness.dispatcher.killed == [task.id]
    with pytest.raises(Conflict, match="already finished"):
        harness.service.kill(harness.project, TaskRef(task_id=task.id))


def test_kill_seen_by_the_runner(harness: Harness) -> None:
    """A kill that reaches the worker first (its flag) ends the task from the runner."""
    task = harness.submit(**SHORT)
    runner = harness.runner(CheckingEngine(), kill_flag=lambda task_id: task_id == task.id)
    assert runner.run(task.id) == Status.cancel
    assert_ended(harness, task.id, Status.cancel, Failure.killed, ["task_cancel"])


def test_kill_at_the_last_moment_drops_the_output(harness: Harness) -> None:
    """Killed after the video was stored but before the task was done: the kill wins."""
    task = harness.submit(**SHORT)
    runner = harness.runner(CameraEngine())
    stored = runner.postprocess

    def postprocess(task_row: Any, video: Any, frame_size: Any = None) -> None:
        harness.service.kill(harness.project, TaskRef(task_id=task.id))
        stored(task_row, video, frame_size)

    runner.postprocess = postprocess  # type: ignore[method-assign]
    assert runner.run(task.id) == Status.cancel
    assert_ended(harness, task.id, Status.cancel, Failure.killed, ["task_cancel"])
    assert harness.store.outputs([task.id])[task.id] == []
    assert not any(harness.settings.data_dir.joinpath("outputs").rglob("*.mp4"))


def test_two_endings_race_and_one_wins(harness: Harness) -> None:
    task = harness.submit()
    claimed = harness.start(task.id)
    lifecycle = Lifecycle(harness.settings, harness.store, harness.events.append)
    assert lifecycle.cancel(task.id)
    assert not lifecycle.fail(task.id, "late", Failure.engine, holder=claimed.claim)
    assert not lifecycle.done(task.id, allowed_from=[Status.start], holder=claimed.claim)
    assert_ended(harness, task.id, Status.cancel, Failure.killed, ["task_cancel"])


def test_worker_stopped_requeues_then_fails(harness: Harness) -> None:
    """A worker that stopped holding the task: retried once, then failed with the worker kind."""
    lifecycle = Lifecycle(harness.settings, harness.store, harness.events.append)
    task = harness.submit()
    first = harness.start(task.id, worker="local-1")
    assert lifecycle.recover(worker="local-2").requeued == []  # another worker's death
    recovery = lifecycle.recover(worker="local-1")
    assert (recovery.requeued, recovery.failed) == ([task.id], [])
    assert harness.task(task.id).status == Status.queue.value
    assert harness.deliveries(task.id) == [] and "task_postprocess_end" not in harness.types(
        task.id
    )
    # The old holder can no longer touch it.
    assert not harness.store.transition(
        task.id, Status.end, allowed_from=[Status.queue], holder=first.claim
    )
    harness.start(task.id, worker="local-3")
    recovery = lifecycle.recover()
    assert (recovery.requeued, recovery.failed) == ([], [task.id])
    events = ["task_error", "task_postprocess_end"]
    ended = assert_ended(harness, task.id, Status.postprocess_end, Failure.worker, events)
    assert "2 times" in ended.debugerror and ended.pexit == "1"
