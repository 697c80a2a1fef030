"""The task service in-process: create, find, list, limits and clean-up, as domain errors."""

from __future__ import annotations

import time

import pytest

from subject2video.contract import RunInput
from subject2video.errors import Conflict, InputError, LimitReached, NotFound
from subject2video.tasks.service import TaskRef, Upload
from subject2video.tasks.status import Status
from tests.unit.tasks.conftest import Harness


def test_run_stores_the_upload_and_dispatches(harness: Harness) -> None:
    task = harness.submit(prompt="a smile", seed="7")
    assert harness.dispatcher.submitted == [task.id]
    assert task.parameters == {
        "inputImageFirst": "face.jpg",
        "prompt": "a smile",
        "seed": "7",
        "callbackUrl": "http://127.0.0.2:9/callback",
    }
    assert task.input_path and (harness.settings.data_dir / task.input_path).is_file()
    assert harness.types(task.id) == ["task_queue"]


def test_run_by_url_keeps_the_url(harness: Harness) -> None:
    run = RunInput(image_url="http://127.0.0.2/face.jpg")
    task = harness.service.run(harness.project, run, None)
    assert task.parameters == {"inputImageFirstUrl": "http://127.0.0.2/face.jpg"}
    assert task.input_path is None and task.callbackurl == ""


def test_a_voice_by_url_keeps_an_uploaded_photo_from_the_workers_until_it_is_stored(
    harness: Harness,
) -> None:
    """The input stage fetches the voice URL; until then no worker may claim the task, however
    its photo came (tasks/inputs.py). Here the URL is refused, so the task fails, unclaimed."""
    task = harness.submit(audio_url="http://127.0.0.2:9/voice.wav")
    assert task.input_path is None and harness.dispatcher.submitted == []
    assert harness.store.claim(task.id, "w-1") is None
    deadline = time.monotonic() + 10  # the fetch runs on the fetch stage's own threads
    while harness.store.status_of(task.id) == Status.queue and time.monotonic() < deadline:
        time.sleep(0.05)
    ended = harness.task(task.id)
    assert ended.status == Status.postprocess_end.value and ended.pexit == "1"
    assert "inputAudioUrl" in ended.debugerror and ended.accepttime is None
    assert harness.dispatcher.submitted == []


def test_limit_reached_says_when_to_retry_and_keeps_no_file(harness: Harness) -> None:
    harness.settings.max_active_tasks = 1
    harness.submit()
    with pytest.raises(LimitReached) as raised:
        harness.submit()
    assert raised.value.retry_after == 5 and "at most 1 unfinished" in raised.value.message
    inputs = list((harness.settings.data_dir / "inputs").rglob("*.jpg"))
    assert len(inputs) == 1


def test_other_projects_tasks_are_not_there(harness: Harness) -> None:
    task = harness.submit()
    other = harness.store.create_project("other")
    with pytest.raises(NotFound):
        harness.service.find(other, TaskRef(task_id=task.id))
    assert harness.service.find(harness.project, TaskRef(tasktoken=task.socketaccesstoken))


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"taskid": "12a"}, NotFound),
        ({"taskid": "9" * 19}, NotFound),  # beyond 64 bits: no task, no overflow
        ({"taskid": "\uff11\uff12"}, NotFound),  # full-width digits are not an id
        ({}, InputError),
    ],
)
def test_task_refs(fields: dict[str, str], error: type[Exception]) -> None:
    with pytest.raises(error):
        TaskRef.parse(fields)


def test_list_checks_its_fields(harness: Harness) -> None:
    first, second = harness.submit(), harness.submit()
    total, tasks = harness.service.list(harness.project, {"order": "asc", "limit": "1"})
    assert total == 2 and [t.id for t in tasks] == [first.id]
    for fields, parameter in (
        ({"order": "sideways"}, "order"),
        ({"status": "task_nope"}, "status"),
        ({"limit": "0"}, "limit"),
        ({"start": "x"}, "start"),
    ):
        with pytest.raises(InputError) as raised:
            harness.service.list(harness.project, fields)
        assert raised.value.parameter == parameter
    assert second.id


def test_delete_io_only_when_final(harness: Harness) -> None:
    task = harness.submit()
    ref = TaskRef(task_id=task.id)
    with pytest.raises(Conflict, match="kill it first"):
        harness.service.delete_io(harness.project, ref, harness.service.inputs)
    harness.service.kill(harness.project, ref)
    cleaned = harness.service.delete_io(harness.project, ref, harness.service.inputs)
    assert cleaned.status == Status.cancel.value and cleaned.input_path is None
    assert not list((harness.settings.data_dir / "inputs").rglob("*.jpg"))


def test_upload_names_are_made_safe(harness: Harness) -> None:
    task = harness.service.run(harness.project, RunInput(), Upload("../../etc/pa ss;wd", b"x"))
    assert task.parameters["inputImageFirst"] == "passwd"
    assert ".." not in (task.input_path or "")
