"""Typed models parsed from the wire's strings, with the raw dict kept; frames and polled events."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime

import pytest

import subject2video.client as client_pkg
from subject2video.client import Event, Output, Progress, Task, TaskStatus
from subject2video.client._events import PollState, SocketRefused, parse_frame
from subject2video.tasks.status import Status
from tests.utils.strict_wire import SEED_TASK

#: The seed's Kill answer has fields ours does not send; they stay reachable in `raw`.
KILLED = {
    **SEED_TASK,
    "id": "534574",
    "status": "task_cancel",
    "guestid": None,
    "categories": '["tool","image-to-image"]',
}


def test_task_from_the_seed_document() -> None:
    task = Task.from_wire(SEED_TASK)
    assert task.id == 2221 and task.status is TaskStatus.postprocess_end
    assert task.pexit == 0 and task.succeeded and task.is_final and not task.failed
    assert task.createtime == datetime(2024, 12, 18, 9, 23, 27, tzinfo=UTC)
    assert task.canceltime is None  # "0" is "not set"
    assert task.elapsedseconds == 6.0 and task.cps == pytest.approx(0.000585)
    assert task.size == 202472
    [output] = task.outputs
    assert isinstance(output, Output) and output.size == 202472
    assert output.addedtime == datetime.fromtimestamp(1734513812, UTC)
    assert output.raw["accesskey"] == "dFKlMApaSgMeHKsJyaDeKrefcHahUK"
    assert task.raw == SEED_TASK
    assert task.video is None  # a PNG, not a video


def test_unknown_fields_and_statuses_survive() -> None:
    task = Task.from_wire(KILLED)
    assert task.cancelled and task.raw["categories"].startswith("[")
    odd = Task.from_wire({**SEED_TASK, "status": "task_something_new", "pexit": ""})
    assert odd.status == "task_something_new" and not odd.is_final and odd.pexit is None


def test_status_enum_is_the_servers() -> None:
    assert TaskStatus is Status
    assert next(iter(TaskStatus)).value == "task_queue"


def test_progress_and_events() -> None:
    frame = {
        "type": "task_output",
        "id": "5",
        "tasktoken": "tok",
        "message": {
            "type": "progressGenerate",
            "task": "Generate",
            "percentage": "60",
            "stepCurrent": "90",
            "stepTotal": "150",
            "speed": "41.2",
            "speedType": "it/s",
            "elapsedTime": "2s",
            "remainingTime": "1s",
        },
        "result": True,
    }
    event = Event.from_wire(frame)
    assert event.type is TaskStatus.output and event.task_id == 5 and not event.is_final
    progress = event.progress
    assert isinstance(progress, Progress)
    assert (progress.percentage, progress.step_current, progress.step_total) == (60.0, 90, 150)
    assert progress.speed == 41.2 and progress.raw["speedType"] == "it/s"
    done = Event.from_wire(
        {"type": "task_postprocess_end", "id": "5", "message": [SEED_TASK["outputs"][0]]}
    )
    assert done.is_final and done.outputs[0].name == "0.png"
    log = Event.from_wire({"type": "task_error", "id": "5", "message": "no face"})
    assert log.log == "no face" and log.type == "task_error"


def test_frames() -> None:
    assert parse_frame('{"type":"connected","version":"1.0"}', "tok") is None
    assert parse_frame('{"type":"task_start","id":"1","tasktoken":"other"}', "tok") is None
    assert parse_frame("not json", "tok") is None
    event = parse_frame('{"type":"task_start","id":"1","tasktoken":"tok","message":null}', "tok")
    assert event is not None and event.type is TaskStatus.start
    with pytest.raises(SocketRefused):
        parse_frame('{"type":"task_error","id":"0","tasktoken":"tok","message":"no"}', "tok")


def test_poll_state_emits_changes_only() -> None:
    state = PollState()
    running = Task.from_wire(
        {**SEED_TASK, "status": "task_output", "progress": {"percentage": "5"}}
    )
    assert state.event(running) is not None
    assert state.event(running) is None and state.interval > 0.25  # backs off
    further = Task.from_wire(
        {**SEED_TASK, "status": "task_output", "progress": {"percentage": "9"}}
    )
    event = state.event(further)
    assert event is not None and event.progress is not None and event.progress.percentage == 9
    final = state.event(Task.from_wire(SEED_TASK))
    assert final is not None and final.is_final and final.task is not None
    assert final.outputs[0].name == "0.png"


def test_public_names_are_exported() -> None:
    public = {
        name
        for name, value in vars(client_pkg).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert set(client_pkg.__all__) == public
    assert all(hasattr(client_pkg, name) for name in client_pkg.__all__)
    errors = [getattr(client_pkg, n) for n in client_pkg.__all__ if n.endswith("Error")]
    assert all(issubclass(e, client_pkg.ClientError) for e in errors)
    assert issubclass(client_pkg.WaitTimeout, TimeoutError)
