"""The OpenAI dialect's words: ids, statuses, the Video object, the error table."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from subject2video.api.openai.wire import (
    FAILURE_CODES,
    openai_error,
    task_id_of,
    video_object,
)
from subject2video.api.wiro.tool import tool_detail
from subject2video.config import Settings
from subject2video.contract import RunInput
from subject2video.errors import (
    Conflict,
    Failure,
    FetchError,
    ImageError,
    InputError,
    LimitReached,
    NotFound,
    ServiceError,
    StorageError,
    TooLarge,
)


def _task(status: str, pexit: str | None = None, **kw: Any) -> SimpleNamespace:
    run = RunInput(image_url="https://e/a.jpg", prompt="smile").with_output(
        seconds=8, size=(1280, 720), model="s2v-1"
    )
    fields = {
        "id": 7,
        "status": status,
        "pexit": pexit,
        "parameters": run.parameters(),
        "progress": {"percentage": "42"},
        "createtime": 100.5,
        "postprocessendtime": 130.0 if status == "task_postprocess_end" else None,
        "canceltime": 120.0 if status == "task_cancel" else None,
        "failure": None,
        "debugerror": "",
    }
    return SimpleNamespace(**{**fields, **kw})


@pytest.mark.parametrize(
    ("status", "pexit", "shown", "progress"),
    [
        ("task_queue", None, "queued", 0),
        ("task_accept", None, "in_progress", 42),
        ("task_start", None, "in_progress", 42),
        ("task_postprocess_start", None, "in_progress", 42),
        ("task_postprocess_end", "0", "completed", 100),
        ("task_postprocess_end", "1", "failed", 42),
        ("task_cancel", None, "failed", 42),
    ],
)
def test_statuses(status: str, pexit: str | None, shown: str, progress: int) -> None:
    video = video_object(_task(status, pexit), [], "s2v-1")
    assert (video["status"], video["progress"]) == (shown, progress)
    assert video["id"] == "video_7" and video["object"] == "video"
    assert (video["seconds"], video["size"], video["model"]) == ("8", "1280x720", "s2v-1")
    assert video["created_at"] == 100
    assert (video["completed_at"] is not None) == (shown in ("completed", "failed"))


def test_failed_and_killed_videos_carry_an_error() -> None:
    failed = _task("task_postprocess_end", "1", failure="image", debugerror="no face found")
    assert video_object(failed, [], "m")["error"] == {
        "code": "invalid_image",
        "message": "no face found",
    }
    killed = _task("task_cancel", failure="killed")
    assert video_object(killed, [], "m")["error"]["code"] == "cancelled"
    assert set(FAILURE_CODES) == {f.value for f in Failure}


def test_a_wiro_task_reads_as_a_video() -> None:
    wiro = _task("task_postprocess_end", "0", parameters={"inputImageFirstUrl": "https://e/a"})
    output = SimpleNamespace(width=720, height=1280, expiretime=None)
    video = video_object(wiro, [output], "s2v-1")
    assert (video["seconds"], video["size"], video["model"]) == ("6", "720x1280", "s2v-1")


@pytest.mark.parametrize(
    ("exc", "status", "code", "param"),
    [
        (TooLarge("big", parameter="inputImageFirst"), 413, "file_too_large", "input_reference"),
        (
            FetchError("no", parameter="inputImageFirstUrl"),
            400,
            "invalid_image_url",
            "input_reference",
        ),
        (ImageError("cat", parameter="input_reference"), 400, "invalid_image", "input_reference"),
        (InputError("bad", parameter="seconds"), 400, "invalid_value", "seconds"),
        (NotFound("gone"), 404, "not_found", None),
        (Conflict("busy"), 409, "conflict", None),
        (LimitReached("slow down", retry_after=3), 429, "rate_limit_exceeded", None),
        (StorageError("disk"), 503, "storage_unavailable", None),
        (ServiceError("odd"), 500, None, None),
    ],
)
def test_error_table(exc: ServiceError, status: int, code: str | None, param: str | None) -> None:
    wire = openai_error(exc)
    assert (wire.status, wire.code, wire.param) == (status, code, param)
    assert set(wire.body()["error"]) == {"message", "type", "param", "code"}
    if status in (429, 503):
        assert wire.headers and wire.headers["Retry-After"].isdigit()


@pytest.mark.parametrize("value", ["video_12", "12"])
def test_ids(value: str) -> None:
    assert task_id_of(value) == 12


@pytest.mark.parametrize(
    "value", ["video_", "video_x", "vid_1", "video_" + "9" * 30, "video_\u0661"]
)
def test_bad_ids_are_not_found(value: str) -> None:
    with pytest.raises(NotFound):
        task_id_of(value)


def test_tool_detail_states_the_dialects_limits(tmp_path: Any) -> None:
    output = tool_detail(Settings(data_dir=tmp_path))["output"]
    assert output["frames"] == 150 and output["shortside"] == 720  # Run is unchanged
    assert output["dialects"]["seconds"] == [2, 12]
    assert output["dialects"]["shortside"] == [480, 1080]


def test_messages_name_the_parameter_as_openai_does() -> None:
    """A contract error says `[inputImageFirst]`; OpenAI's caller sent `input_reference`."""
    exc = TooLarge(
        "Request parameter [inputImageFirst] is 30 MB; at most 20", parameter="inputImageFirst"
    )
    wire = openai_error(exc)
    assert wire.message == "Request parameter [input_reference] is 30 MB; at most 20"
    assert wire.param == "input_reference"
    assert exc.message.startswith("Request parameter [inputImageFirst]")  # the original stays
