"""One conformance suite over every dialect, in-process: the app (create_app, its lifespan, its
real engine process with the camera engine, paced) behind Starlette's ASGI test transport.

Each dialect is one row: a `Dialect` adapter saying how its clients create, read, download, list,
stop and delete a video, and how it answers a bad key, a bad input and an unknown model. Every
test runs over every row; a new dialect adds a row, not a test file. A dialect without an
operation (MiniMax has no list, no kill) says None and that check is skipped for it.
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from subject2video.api.app import create_app
from subject2video.config import Settings
from subject2video.contract import MODEL_OWNER, MODEL_PROJECT
from subject2video.tasks.store import Store
from tests.utils.images import face_jpeg

FACE = face_jpeg()
DATA_URI = "data:image/jpeg;base64," + base64.b64encode(FACE).decode()
#: An image URL the fetch policy refuses (loopback), so every dialect refuses it at the door.
BAD_URL = "http://127.0.0.1:9/face.jpg"
#: What a dialect's `state` says, in common words.
RUNNING, SUCCEEDED, FAILED, CANCELLED, GONE = "running", "succeeded", "failed", "cancelled", "gone"


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@dataclass(frozen=True)
class Dialect:
    """How one dialect's clients do each thing (None: the dialect has no such operation)."""

    name: str
    auth: Callable[[str], dict[str, str]]
    create: Callable[[TestClient, dict[str, str]], str]
    state: Callable[[TestClient, dict[str, str], str], str]
    download: Callable[[TestClient, dict[str, str], str], bytes]
    listed: Callable[[TestClient, dict[str, str]], list[str]] | None
    kill: Callable[[TestClient, dict[str, str], str], None] | None
    delete: Callable[[TestClient, dict[str, str], str], None] | None
    #: A request with a bad image URL: (HTTP status, body text); the text names `bad_field`.
    bad_input: Callable[[TestClient, dict[str, str]], tuple[int, str]]
    bad_field: str
    #: (HTTP status, body) of a request naming a model that is not served.
    unknown_model: Callable[[TestClient, dict[str, str]], tuple[int, str]]
    #: (HTTP status, body) of any authenticated read with a key no project has.
    bad_key: Callable[[TestClient], tuple[int, str]]


# -- Wiro -------------------------------------------------------------------------------------

_RUN = f"/v1/Run/{MODEL_OWNER}/{MODEL_PROJECT}"


def _wiro_detail(c: TestClient, h: dict[str, str], task_id: str) -> dict[str, Any]:
    answer = c.post("/v1/Task/Detail", headers=h, json={"taskid": task_id})
    assert answer.status_code == 200, answer.text
    return answer.json()["tasklist"][0]


def _wiro_state(c: TestClient, h: dict[str, str], task_id: str) -> str:
    task = _wiro_detail(c, h, task_id)
    if task["status"] == "task_cancel":
        return CANCELLED
    if task["status"] != "task_postprocess_end":
        return RUNNING
    return SUCCEEDED if task["pexit"] == "0" else FAILED


def _wiro_create(c: TestClient, h: dict[str, str]) -> str:
    files = {"inputImageFirst": ("face.jpg", FACE, "image/jpeg")}
    answer = c.post(_RUN, headers=h, data={"prompt": "she smiles"}, files=files)
    assert answer.status_code == 200, answer.text
    return answer.json()["taskid"]


def _wiro_bad(c: TestClient, h: dict[str, str]) -> tuple[int, str]:
    answer = c.post(_RUN, headers=h, json={"inputImageFirstUrl": BAD_URL})
    return answer.status_code, answer.text


WIRO = Dialect(
    name="wiro",
    auth=lambda key: {"x-api-key": key},
    create=_wiro_create,
    state=_wiro_state,
    download=lambda c, h, i: c.get(_path(_wiro_detail(c, h, i)["outputs"][0]["url"])).content,
    listed=lambda c, h: [
        t["id"] for t in c.post("/v1/Task/List", headers=h, json={}).json()["tasklist"]
    ],
    kill=lambda c, h, i: _ok(c.post("/v1/Task/Kill", headers=h, json={"taskid": i})),
    delete=lambda c, h, i: _ok(c.post("/v1/Task/InputOutputDelete", headers=h, json={"taskid": i})),
    bad_input=_wiro_bad,
    bad_field="inputImageFirstUrl",
    unknown_model=lambda c, h: _answer(c.post("/v1/Run/nobody/nothing", headers=h, json={})),
    bad_key=lambda c: _answer(c.post("/v1/Task/List", headers={"x-api-key": "nope"}, json={})),
)


# -- MiniMax ----------------------------------------------------------------------------------


def _minimax_query(c: TestClient, h: dict[str, str], task_id: str) -> dict[str, Any]:
    return c.get("/v1/query/video_generation", params={"task_id": task_id}, headers=h).json()


def _minimax_state(c: TestClient, h: dict[str, str], task_id: str) -> str:
    status = _minimax_query(c, h, task_id)["status"]
    return {"Success": SUCCEEDED, "Fail": FAILED}.get(status, RUNNING)


def _minimax_download(c: TestClient, h: dict[str, str], task_id: str) -> bytes:
    file_id = _minimax_query(c, h, task_id)["file_id"]
    record = c.get("/v1/files/retrieve", params={"file_id": file_id}, headers=h).json()
    return c.get(_path(record["file"]["download_url"])).content


def _minimax_create(c: TestClient, h: dict[str, str]) -> str:
    body = {"model": "I2V-01", "prompt": "she smiles", "first_frame_image": DATA_URI}
    answer = c.post("/v1/video_generation", headers=h, json=body).json()
    assert answer["base_resp"]["status_code"] == 0, answer
    return answer["task_id"]


def _minimax_post(c: TestClient, h: dict[str, str], body: dict[str, Any]) -> tuple[int, str]:
    answer = c.post("/v1/video_generation", headers=h, json=body)
    assert answer.status_code == 200  # MiniMax answers every error with 200 and base_resp
    code = answer.json()["base_resp"]["status_code"]
    return (400 if code == 2013 else 401 if code in (1004, 2049) else 500), answer.text


MINIMAX = Dialect(
    name="minimax",
    auth=lambda key: {"Authorization": f"Bearer {key}"},
    create=_minimax_create,
    state=_minimax_state,
    download=_minimax_download,
    listed=None,
    kill=None,
    delete=None,
    bad_input=lambda c, h: _minimax_post(
        c, h, {"model": "I2V-01", "prompt": "x", "first_frame_image": BAD_URL}
    ),
    bad_field="first_frame_image",
    unknown_model=lambda c, h: _minimax_post(
        c, h, {"model": "nope", "first_frame_image": DATA_URI}
    ),
    bad_key=lambda c: _minimax_post(c, {"Authorization": "Bearer nope"}, {}),
)


# -- OpenAI -----------------------------------------------------------------------------------


def _openai_state(c: TestClient, h: dict[str, str], video: str) -> str:
    answer = c.get(f"/v1/videos/{video}", headers=h)
    if answer.status_code == 404:
        return GONE
    body = answer.json()
    if body["status"] == "failed":
        return CANCELLED if body["error"]["code"] == "cancelled" else FAILED
    return SUCCEEDED if body["status"] == "completed" else RUNNING


def _openai_create(c: TestClient, h: dict[str, str]) -> str:
    files = {"input_reference": ("face.jpg", FACE, "image/jpeg")}
    answer = c.post("/v1/videos", headers=h, data={"prompt": "smile", "seconds": "2"}, files=files)
    assert answer.status_code == 200, answer.text
    return answer.json()["id"]


OPENAI = Dialect(
    name="openai",
    auth=lambda key: {"Authorization": f"Bearer {key}"},
    create=_openai_create,
    state=_openai_state,
    download=lambda c, h, v: c.get(f"/v1/videos/{v}/content", headers=h).content,
    listed=lambda c, h: [v["id"] for v in c.get("/v1/videos", headers=h).json()["data"]],
    kill=lambda c, h, v: _ok(c.delete(f"/v1/videos/{v}", headers=h)),
    delete=lambda c, h, v: _ok(c.delete(f"/v1/videos/{v}", headers=h)),
    bad_input=lambda c, h: _answer(
        c.post("/v1/videos", headers=h, json={"input_reference": {"image_url": BAD_URL}})
    ),
    bad_field="input_reference",
    unknown_model=lambda c, h: _answer(
        c.post("/v1/videos", headers=h, json={"model": "nope", "input_reference": DATA_URI})
    ),
    bad_key=lambda c: _answer(c.get("/v1/videos", headers={"Authorization": "Bearer nope"})),
)


# -- Replicate --------------------------------------------------------------------------------

_PREDICT = "/v1/models/minimax/video-01-live/predictions"


def _replicate_state(c: TestClient, h: dict[str, str], prediction: str) -> str:
    status = c.get(f"/v1/predictions/{prediction}", headers=h).json()["status"]
    states = {"succeeded": SUCCEEDED, "failed": FAILED, "canceled": CANCELLED}
    return states.get(status, RUNNING)


def _replicate_create(c: TestClient, h: dict[str, str]) -> str:
    body = {"input": {"prompt": "she smiles", "first_frame_image": DATA_URI}}
    answer = c.post(_PREDICT, headers=h, json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


REPLICATE = Dialect(
    name="replicate",
    auth=lambda key: {"Authorization": f"Bearer {key}"},
    create=_replicate_create,
    state=_replicate_state,
    download=lambda c, h, p: (
        c.get(_path(c.get(f"/v1/predictions/{p}", headers=h).json()["output"])).content
    ),
    listed=lambda c, h: [p["id"] for p in c.get("/v1/predictions", headers=h).json()["results"]],
    kill=lambda c, h, p: _ok(c.post(f"/v1/predictions/{p}/cancel", headers=h)),
    delete=None,
    bad_input=lambda c, h: _answer(
        c.post(_PREDICT, headers=h, json={"input": {"first_frame_image": BAD_URL}})
    ),
    bad_field="first_frame_image",
    unknown_model=lambda c, h: _answer(
        c.post("/v1/models/nobody/nothing/predictions", headers=h, json={"input": {}})
    ),
    bad_key=lambda c: _answer(c.get("/v1/predictions", headers={"Authorization": "Bearer no"})),
)

DIALECTS = [WIRO, MINIMAX, OPENAI, REPLICATE]


def _ok(answer: Any) -> None:
    assert answer.status_code in (200, 204), answer.text


def _answer(answer: Any) -> tuple[int, str]:
    return answer.status_code, answer.text


# -- the app ----------------------------------------------------------------------------------


@dataclass
class App:
    client: TestClient
    key: str


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    data = tmp_path_factory.mktemp("conformance") / "data"
    settings = Settings(data_dir=data, engine="tests.utils.engines:PacedCameraEngine", workers=1)
    before = os.environ.get("S2V_TEST_FRAME_DELAY")
    os.environ["S2V_TEST_FRAME_DELAY"] = "0.005"  # a kill lands before the last frame
    try:
        with TestClient(create_app(settings)) as client:
            store = Store(settings.db_url)
            key = store.create_project("conformance", key_only=True).apikey
            store.dispose()
            yield App(client, key)
    finally:
        if before is None:
            os.environ.pop("S2V_TEST_FRAME_DELAY", None)
        else:
            os.environ["S2V_TEST_FRAME_DELAY"] = before


def _wait(dialect: Dialect, app: App, ref: str, seconds: float = 60) -> str:
    headers = dialect.auth(app.key)
    deadline = time.monotonic() + seconds
    while (state := dialect.state(app.client, headers, ref)) == RUNNING:
        assert time.monotonic() < deadline, f"{dialect.name} {ref} still running"
        time.sleep(0.1)
    return state


ROWS = pytest.mark.parametrize("dialect", DIALECTS, ids=[d.name for d in DIALECTS])


@ROWS
def test_create_poll_download_list_delete(dialect: Dialect, app: App, tmp_path: Path) -> None:
    headers = dialect.auth(app.key)
    ref = dialect.create(app.client, headers)
    assert _wait(dialect, app, ref) == SUCCEEDED
    video = dialect.download(app.client, headers, ref)
    assert video[4:8] == b"ftyp", video[:40]  # an MP4
    if dialect.listed is not None:
        assert ref in dialect.listed(app.client, headers)
    if dialect.delete is not None:
        dialect.delete(app.client, headers, ref)
        assert dialect.state(app.client, headers, ref) in (SUCCEEDED, GONE)


@ROWS
def test_kill(dialect: Dialect, app: App) -> None:
    if dialect.kill is None:
        pytest.skip(f"{dialect.name} has no way to stop a task")
    headers = dialect.auth(app.key)
    ref = dialect.create(app.client, headers)
    dialect.kill(app.client, headers, ref)
    assert _wait(dialect, app, ref) in (CANCELLED, GONE)


@ROWS
def test_bad_key(dialect: Dialect, app: App) -> None:
    status, body = dialect.bad_key(app.client)
    assert status == 401, body


@ROWS
def test_bad_input_names_the_field_as_the_dialect_spells_it(dialect: Dialect, app: App) -> None:
    status, body = dialect.bad_input(app.client, dialect.auth(app.key))
    assert 400 <= status < 500 and dialect.bad_field in body, body
    others = {d.bad_field for d in DIALECTS} - {dialect.bad_field}
    assert not [name for name in others if name in body], body


@ROWS
def test_unknown_model(dialect: Dialect, app: App) -> None:
    status, body = dialect.unknown_model(app.client, dialect.auth(app.key))
    assert status in (400, 404), body
