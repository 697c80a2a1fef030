"""One conformance suite over every dialect (the rows of conformance.py), in this process.

The server is the app factory's API over Starlette's in-process ASGI transport (an httpx client;
no socket), with a real store in a temporary directory and a real worker: the runner with the
`camera` engine, on a thread (tests/utils/inprocess.py). For each dialect: a video made from a
face photo, polled to done, downloaded and decoded; the list; a cancel of a queued task and a kill
of a running one; a delete; an unknown key, a wrong input and an unknown model, each answered in
the dialect's own error body, the wrong input named as that dialect spells it.

A task is held queued by a photo URL on a loopback server that answers only when the test lets it
(`Stall`): the API's fetch stage fetches the photo before any worker sees the task, so the task
shows as queued in every dialect, and is cancelled or killed there, for as long as the test needs.
(Killing a task an engine runs: tests/integration/test_kill_cancel_restart.py.)
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from subject2video.api.app import create_app
from subject2video.config import Settings
from subject2video.media.video import probe
from subject2video.tasks.status import Status
from subject2video.tasks.store import Store
from tests.unit.api.conformance import PHOTO_NAMES, ROWS, BadInput, Row, path_of
from tests.utils.images import face_jpeg
from tests.utils.inprocess import InProcessDispatcher

#: The module's tests share one server and its worker: under xdist they stay on one process.
pytestmark = pytest.mark.xdist_group("conformance")

DONE_WITHIN = 90.0


class Stall:
    """A loopback photo server that holds each request until `release` (then answers 404)."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()
        stall = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stall.arrived.set()
                stall.release.wait(30)
                self.send_error(404)

            def log_message(self, *args: object) -> None: ...

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/face.jpg"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def arm(self) -> None:
        self.arrived.clear()
        self.release.clear()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Server:
    client: TestClient
    store: Store
    key: str
    stall: Stall
    #: Per dialect, a task of it that succeeded (made by the first check that needs it).
    finished: dict[str, str]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("conformance"),
        engine="camera",
        fetch_allow_hosts="127.0.0.1",
        workers=1,
    )
    stall = Stall()
    app = create_app(settings, dispatcher=InProcessDispatcher)
    try:
        with TestClient(app) as client:
            store = app.state.services.store
            project = store.create_project("conformance", key_only=True)
            yield Server(client, store, project.apikey, stall, {})
    finally:
        stall.close()


def rows(capability: str | None = None) -> list[object]:
    """The rows that have `capability`, each a strict xfail where a known bug fails it."""
    params = []
    for row in ROWS:
        if capability is not None and not getattr(row, f"has_{capability}"):
            continue
        reason = row.xfail.get(capability or "")
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(row, id=row.name, marks=marks))
    return params


def bad_inputs() -> list[object]:
    return [
        pytest.param(
            row,
            case,
            id=f"{row.name}-{case.name}",
            marks=[pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else [],
        )
        for row in ROWS
        for case in row.bad_inputs
    ]


def task_id(wire_id: str) -> int:
    """Our task id in a dialect's id (`42`, `video_42`)."""
    found = re.search(r"(\d+)$", wire_id)
    assert found, wire_id
    return int(found.group(1))


def wait_for(server: Server, row: Row, task: str, states: set[str]) -> str:
    deadline = time.monotonic() + DONE_WITHIN
    while (state := row.state(server.client, server.key, task)) not in states:
        assert time.monotonic() < deadline, f"{row.name} task {task} still {state}"
        time.sleep(0.05)
    return state


def finished(server: Server, row: Row) -> str:
    """A task of `row`'s dialect that made its video."""
    if row.name not in server.finished:
        task = row.create(server.client, server.key, face_jpeg())
        state = wait_for(server, row, task, {"succeeded", "failed", "canceled"})
        assert state == "succeeded", (task, server.store.get(task_id(task)))
        server.finished[row.name] = task
    return server.finished[row.name]


@contextmanager
def fetching(server: Server, row: Row) -> Iterator[str]:
    """A task of `row`'s dialect whose photo the fetch stage is fetching (held by the stall): it
    stays queued, with no worker, until the block ends."""
    server.stall.arm()
    task = row.create_from_url(server.client, server.key, server.stall.url)
    try:
        assert server.stall.arrived.wait(DONE_WITHIN), "the fetch stage never fetched the photo"
        yield task
    finally:
        server.stall.release.set()


# -- the checks -----------------------------------------------------------------------------------


@pytest.mark.parametrize("row", rows())
def test_a_video_is_made_polled_and_downloaded(row: Row, server: Server, tmp_path: Path) -> None:
    task = finished(server, row)
    url = row.video_url(server.client, server.key, task)
    response = server.client.get(path_of(url), headers=row.headers(server.key))
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "video/mp4"
    video = tmp_path / "video.mp4"
    video.write_bytes(response.content)
    info = probe(video)
    frames, short_side = row.video
    assert info.frames == frames, info
    assert min(info.width, info.height) == short_side, info
    assert info.codec == "h264" and info.pix_fmt == "yuv420p" and info.moov_first, info


@pytest.mark.parametrize("row", rows("list"))
def test_the_list_holds_the_task(row: Row, server: Server) -> None:
    task = finished(server, row)
    assert task in row.listed(server.client, server.key)


@pytest.mark.parametrize("row", rows("cancel"))
def test_a_queued_task_is_cancelled(row: Row, server: Server) -> None:
    with fetching(server, row) as task:
        assert row.state(server.client, server.key, task) == "queued"
        response = row.cancel(server.client, server.key, task)
        assert response.status_code == 200, response.text
        assert row.state(server.client, server.key, task) == "canceled"
    assert server.store.status_of(task_id(task)) == Status.cancel


@pytest.mark.parametrize("row", rows("kill"))
def test_a_task_is_killed_during_its_fetch(row: Row, server: Server) -> None:
    with fetching(server, row) as task:
        response = row.kill(server.client, server.key, task)
        assert response.status_code == 200, response.text
        assert row.state(server.client, server.key, task) in {"canceled", "gone"}
    assert server.store.status_of(task_id(task)) == Status.cancel


@pytest.mark.parametrize("row", rows())
def test_an_unknown_key_is_refused_in_the_dialects_body(row: Row, server: Server) -> None:
    response = row.unknown_model(server.client, "k" * 32)  # any request: the key comes first
    refusal = row.refusal(response)
    assert (refusal.http, refusal.code) == row.bad_key_answer, refusal


@pytest.mark.parametrize(("row", "case"), bad_inputs())
def test_a_wrong_input_is_named_as_the_dialect_spells_it(
    row: Row, case: BadInput, server: Server
) -> None:
    response = case.send(server.client, server.key)
    refusal = row.refusal(response)
    assert refusal.http in (200, 400, 413, 422), refusal
    named = {n for n in PHOTO_NAMES if re.search(rf"\b{n}\b", refusal.text)}
    assert named == {case.names}, refusal


@pytest.mark.parametrize("row", rows())
def test_an_unknown_model_is_refused(row: Row, server: Server) -> None:
    refusal = row.refusal(row.unknown_model(server.client, server.key))
    assert (refusal.http, refusal.code) == row.unknown_model_answer, refusal


@pytest.mark.parametrize("row", rows("delete"))
def test_a_deleted_task_reads_as_deleted(row: Row, server: Server) -> None:
    """Last: it deletes the video the checks above shared."""
    task = finished(server, row)
    response = row.delete(server.client, server.key, task)
    assert response.status_code == 200, response.text
    row.check_deleted(server.client, server.key, task)
