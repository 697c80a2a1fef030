"""The MiniMax dialect's mapping: request checks, error codes, statuses, bodies and callbacks."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import inspect

from subject2video.api.door import answer
from subject2video.api.errors import ApiError
from subject2video.api.files import OutputLinks
from subject2video.api.minimax import callbacks as minimax_callbacks
from subject2video.api.minimax import routes as minimax
from subject2video.api.minimax.callbacks import MinimaxCallbacks
from subject2video.api.minimax.routes import Code, MinimaxError, error_code
from subject2video.config import Settings
from subject2video.errors import (
    Conflict,
    EngineError,
    FetchError,
    ImageError,
    InputError,
    LimitReached,
    NotFound,
    StorageError,
    TooLarge,
)
from subject2video.migrations import upgrade
from subject2video.tasks.events import Event
from subject2video.tasks.keyring import Keyring
from subject2video.tasks.status import Status
from subject2video.tasks.store import Store
from tests.utils.images import face_jpeg

SUBJECT = {"type": "character", "image": ["https://example.com/face.jpg"]}
GOOD = {"model": "S2V-01", "prompt": "smile", "subject_reference": [SUBJECT]}


def code_of(exc: Exception) -> Code:
    return error_code(exc)[0]


def test_a_good_request_parses() -> None:
    fields, image, _ = minimax.parse_request(
        {**GOOD, "callback_url": "https://example.com/cb", "prompt_optimizer": False}
    )
    assert fields == {"prompt": "smile", "callbackUrl": "https://example.com/cb"}
    assert image == SUBJECT["image"][0]
    # Lenient: model case, a bare image string.
    bare = {**GOOD, "model": "s2v-01", "subject_reference": [{**SUBJECT, "image": "https://x/y"}]}
    assert minimax.parse_request(bare)[1] == "https://x/y"


@pytest.mark.parametrize(
    "body",
    [
        [],
        {k: v for k, v in GOOD.items() if k != "model"},
        {**GOOD, "model": "I2V-01"},
        {**GOOD, "subject_reference": None},
        {**GOOD, "subject_reference": []},
        {**GOOD, "subject_reference": [SUBJECT, SUBJECT]},
        {**GOOD, "subject_reference": ["https://example.com/face.jpg"]},
        {**GOOD, "subject_reference": [{**SUBJECT, "type": "object"}]},
        {**GOOD, "subject_reference": [{"image": SUBJECT["image"]}]},
        {**GOOD, "subject_reference": [{**SUBJECT, "image": []}]},
        {**GOOD, "subject_reference": [{**SUBJECT, "image": SUBJECT["image"] * 2}]},
        {**GOOD, "subject_reference": [{**SUBJECT, "image": [7]}]},
        {**GOOD, "prompt": 3},
        {**GOOD, "prompt_optimizer": "yes"},
        {**GOOD, "callback_url": ["x"]},
    ],
)
def test_invalid_requests_are_2013(body: Any) -> None:
    with pytest.raises(MinimaxError) as raised:
        minimax.parse_request(body)
    assert raised.value.code == Code.invalid_params


def test_image_input_url_and_data_uri() -> None:
    assert minimax.image_input("https://example.com/a.jpg") == (
        {"inputImageFirstUrl": "https://example.com/a.jpg"},
        None,
    )
    face = face_jpeg()
    fields, upload = minimax.image_input(
        f"data:image/jpeg;base64,{base64.b64encode(face).decode()}"
    )
    assert fields == {} and upload is not None
    assert upload.data == face and upload.filename == "subject.jpg"


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("ftp://example.com/a.jpg", Code.invalid_params),
        ("data:text/plain;base64,aGk=", Code.invalid_params),
        ("data:image/png;base64,@@@", Code.invalid_params),
        ("data:image/png;base64," + base64.b64encode(b"not an image").decode(), 1026),
        ("data:image/jpeg;base64," + base64.b64encode(face_jpeg(size=(250, 250))).decode(), 1026),
    ],
)
def test_bad_images(image: str, expected: int) -> None:
    with pytest.raises((MinimaxError, InputError)) as raised:
        minimax.image_input(image)
    assert code_of(raised.value) == expected


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (MinimaxError(Code.invalid_key, "invalid api key"), 2049),
        (LimitReached("limit"), 1002),
        (InputError("Request parameter [prompt] is 2001 characters"), 2013),
        (NotFound("There is no task yet."), 2013),
        (Conflict("Task is not in a cancellable state."), 2013),
        (TooLarge("too large"), 2013),
        (StorageError("disk full"), 1013),
        (ApiError("too large", status=413), 2013),
        (ApiError("auth", status=401), 1004),
        (ApiError("fault", status=500), 1000),
        (ImageError("Request parameter [x] is too small"), 1026),
        (FetchError("Request parameter [callbackUrl] points to a non-public address"), 2013),
        (EngineError("boom"), 1000),
        (RuntimeError("boom"), 1000),
    ],
)
def test_error_code_table(exc: Exception, expected: int) -> None:
    assert code_of(exc) == expected


def test_status_mapping() -> None:
    table = {
        Status.queue: "Queueing",
        Status.accept: "Preparing",
        Status.preprocess_start: "Preparing",
        Status.preprocess_end: "Preparing",
        Status.assign: "Processing",
        Status.start: "Processing",
        Status.output: "Processing",
        Status.output_full: "Processing",
        Status.end: "Processing",
        Status.postprocess_start: "Processing",
        Status.cancel: "Fail",
    }
    assert {s: minimax.minimax_status(s.value, None) for s in table} == table
    assert minimax.minimax_status(Status.postprocess_end.value, "0") == "Success"
    assert minimax.minimax_status(Status.postprocess_end.value, "1") == "Fail"


def _task(
    status: str, pexit: str | None = None, debugerror: str = "", failure: str | None = None
) -> Any:
    return SimpleNamespace(
        id=7,
        status=status,
        pexit=pexit,
        debugerror=debugerror,
        failure=failure,
        callback_dialect="minimax",
        parameters={"inputImageFirstUrl": "https://example.com/a.jpg"},
    )


def _output() -> Any:
    return SimpleNamespace(id="a" * 32, width=1280, height=720, size=10, addedtime=5.5)


def test_query_bodies() -> None:
    running = minimax.query_body(_task("task_start"), [])
    assert running == {
        "task_id": "7",
        "status": "Processing",
        "file_id": "",
        "video_width": 0,
        "video_height": 0,
        "base_resp": {"status_code": 0, "status_msg": "success"},
    }
    done = minimax.query_body(_task("task_postprocess_end", "0"), [_output()])
    assert (done["status"], done["file_id"], done["video_width"]) == ("Success", "a" * 32, 1280)
    # The status of an event overrides the task's own (callbacks render each change).
    assert minimax.query_body(_task("task_postprocess_end", "0"), [], "task_queue")["status"] == (
        "Queueing"
    )
    # The code comes from the stored failure kind, never from the message.
    rejected = _task("task_postprocess_end", "1", "the photo holds no face", failure="image")
    assert minimax.query_body(rejected, [])["base_resp"]["status_code"] == 1026
    crashed = _task("task_postprocess_end", "1", "[inputImageFirstUrl] boom", failure="engine")
    assert minimax.query_body(crashed, [])["base_resp"]["status_code"] == 1000
    assert minimax.query_body(_task("task_cancel"), [])["base_resp"]["status_code"] == 1000


def test_file_body() -> None:
    # The store keeps the access key sealed; the URL carries it opened.
    keyring = Keyring(Fernet.generate_key().decode())
    output = SimpleNamespace(**vars(_output()), accesskey=keyring.seal("k"), name="0.mp4")
    body = minimax.file_body(output, OutputLinks.opened_by("http://h", keyring))
    assert body == {
        "file_id": "a" * 32,
        "bytes": 10,
        "created_at": 5,
        "filename": "output.mp4",
        "purpose": "video_generation",
        "download_url": f"http://h/v1/File/{'a' * 32}/k/0.mp4",
    }


def test_unexpected_errors_answer_1000_with_http_200() -> None:
    async def work() -> dict[str, Any]:
        raise RuntimeError("boom")

    response = asyncio.run(answer(work, minimax._error({"task_id": ""})))
    assert response.status_code == 200
    body = json.loads(response.body)
    assert body["task_id"] == "" and body["base_resp"]["status_code"] == 1000


# -- callbacks --------------------------------------------------------------------------------


class FakeStore:
    def __init__(self, task: Any) -> None:
        self.task = task

    def get(self, task_id: int) -> Any:
        return self.task if task_id == self.task.id else None

    def outputs(self, ids: list[int]) -> dict[int, list[Any]]:
        done = self.task.status == "task_postprocess_end" and self.task.pexit == "0"
        return {i: [_output()] if done else [] for i in ids}


def _callbacks(
    monkeypatch: pytest.MonkeyPatch, task: Any, echo: bool
) -> tuple[MinimaxCallbacks, list[dict[str, Any]]]:
    sent: list[dict[str, Any]] = []

    def post_reading(url: str, body: bytes, *_a: Any, **_k: Any) -> tuple[int, bytes]:
        sent.append(json.loads(body))
        return 200, body if echo else b'{"status":"ok"}'

    def post(url: str, body: bytes, *_a: Any, **_k: Any) -> int:
        sent.append(json.loads(body))
        return 200

    monkeypatch.setattr(minimax_callbacks, "post_reading", post_reading)
    monkeypatch.setattr(minimax_callbacks, "post", post)
    store: Any = FakeStore(task)
    callbacks = MinimaxCallbacks(Settings(), store, minimax.query_body)
    return callbacks, sent


def _minimax_task() -> Any:
    return SimpleNamespace(
        id=7,
        status="task_queue",
        pexit=None,
        debugerror="",
        callback_dialect="minimax",
        callbackurl="https://example.com/cb",
    )


def _run(callbacks: MinimaxCallbacks, task: Any, statuses: list[str]) -> None:
    for status in statuses:
        task.status = status
        if status == "task_postprocess_end":
            task.pexit = "0"
        callbacks.handle(task.id, status)


LIFECYCLE = [s.value for s in Status if s not in (Status.output, Status.cancel)]


def test_callbacks_after_an_echoed_challenge(monkeypatch: pytest.MonkeyPatch) -> None:
    task = _minimax_task()
    callbacks, sent = _callbacks(monkeypatch, task, echo=True)
    _run(callbacks, task, [*LIFECYCLE, "task_postprocess_end"])
    assert "challenge" in sent[0]
    assert [b["status"] for b in sent[1:]] == ["Queueing", "Preparing", "Processing", "Success"]
    assert sent[-1]["file_id"] == "a" * 32


def test_no_callbacks_without_an_echo(monkeypatch: pytest.MonkeyPatch) -> None:
    task = _minimax_task()
    callbacks, sent = _callbacks(monkeypatch, task, echo=False)
    _run(callbacks, task, LIFECYCLE)
    assert len(sent) == 1 and "challenge" in sent[0]


def test_wiro_tasks_get_no_minimax_callbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    task = _minimax_task()
    task.callback_dialect = None
    callbacks, sent = _callbacks(monkeypatch, task, echo=True)
    _run(callbacks, task, LIFECYCLE)
    assert sent == []


def test_listener_skips_progress_and_never_blocks() -> None:
    store: Any = FakeStore(_minimax_task())
    callbacks = MinimaxCallbacks(Settings(), store, minimax.query_body)
    callbacks.on_event(Event("task_output", 7, "t", {"percentage": "5"}))
    callbacks.on_event(Event("task_start", 7, "t"))
    assert callbacks._inbox.qsize() == 1


def test_schema_gains_new_nullable_columns(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(store.engine, "0001")  # a store from before the columns existed
    assert "width" not in {c["name"] for c in inspect(store.engine).get_columns("outputs")}
    store.create_schema()
    columns = {c["name"] for c in inspect(store.engine).get_columns("outputs")}
    assert {"width", "height"} <= columns
    assert "callback_dialect" in {c["name"] for c in inspect(store.engine).get_columns("tasks")}
    store.dispose()


def test_framing_is_an_extension_under_its_wiro_name() -> None:
    """`framing` (README): carried to the run as Wiro's `framing`; a non-string is refused."""
    fields, _, _ = minimax.parse_request({**GOOD, "framing": "photo"})
    assert fields["framing"] == "photo"
    with pytest.raises(MinimaxError) as refused:
        minimax.parse_request({**GOOD, "framing": 1})
    assert "framing" in str(refused.value)
