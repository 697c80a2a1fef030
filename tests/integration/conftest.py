"""Fixtures: real `s2v serve` processes, and local HTTP servers for images and callbacks."""

from __future__ import annotations

import http.server
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.utils.images import cat_jpeg, face_jpeg
from tests.utils.server import Project, Server, fixture_server, send

FAST_CALLBACKS = {"S2V_CALLBACK_BACKOFF_SECONDS": "0.3", "S2V_CALLBACK_BACKOFF_FACTOR": "2"}


@pytest.fixture(scope="session")
def face() -> bytes:
    return face_jpeg()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The embedded default with the camera engine."""
    srv = Server(tmp_path_factory.mktemp("server"), env={"S2V_ENGINE": "camera", **FAST_CALLBACKS})
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def project(server: Server) -> Project:
    return server.keys("signed")


@pytest.fixture(scope="session")
def key_only(server: Server) -> Project:
    return server.keys("keyonly", key_only=True)


@pytest.fixture(scope="session")
def images(face: bytes) -> Iterator[str]:
    """An image host on the fixture address: /face.jpg, /cat.jpg, /text, /redirect-local."""
    routes = {
        "/face.jpg": lambda h: send(h, 200, face, "image/jpeg"),
        "/cat.jpg": lambda h: send(h, 200, cat_jpeg(), "image/jpeg"),
        "/text": lambda h: send(h, 200, b"hello, not an image", "image/jpeg"),
        "/truncated.jpg": lambda h: send(h, 200, face[: len(face) // 2], "image/jpeg"),
        "/redirect-local": lambda h: send(
            h, 302, b"", headers={"Location": "http://127.0.0.1:9/face.jpg"}
        ),
        "/missing.jpg": lambda h: send(h, 404, b"no"),
    }
    with fixture_server(routes) as url:
        yield url


@pytest.fixture
def paced_server(tmp_path: Path) -> Iterator[Server]:
    """A server whose engine is slow enough to be caught running."""
    srv = Server(
        tmp_path / "paced",
        env={"S2V_ENGINE": "tests.utils.engines:PacedCameraEngine", "S2V_KILL_GRACE_SECONDS": "2"},
    )
    srv.start()
    yield srv
    srv.stop()


class Recorder:
    """A callback receiver that fails its first `failures` deliveries."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.calls: list[tuple[dict[str, str], bytes]] = []

    def __call__(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("content-length") or 0)
        body = handler.rfile.read(length)
        self.calls.append(({k.lower(): v for k, v in handler.headers.items()}, body))
        status = 500 if len(self.calls) <= self.failures else 200
        send(handler, status, b"ok", "text/plain")
