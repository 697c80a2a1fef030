"""Fixtures of the hardening checks: a camera-engine server, its projects, the face picture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.utils.images import face_jpeg
from tests.utils.server import Project, Server

FAST_CALLBACKS = {"S2V_CALLBACK_BACKOFF_SECONDS": "0.3", "S2V_CALLBACK_BACKOFF_FACTOR": "2"}


@pytest.fixture(scope="session")
def face() -> bytes:
    return face_jpeg()


@pytest.fixture(scope="module")
def hardened(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A camera-engine server with small limits, shared by one module's checks."""
    env = {
        "S2V_ENGINE": "camera",
        "S2V_MAX_ACTIVE_TASKS": "4",
        "S2V_MAX_BODY_BYTES": "3000000",
        **FAST_CALLBACKS,
    }
    srv = Server(tmp_path_factory.mktemp("hardened"), env=env).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def signed(hardened: Server) -> Project:
    return hardened.keys("signed")


@pytest.fixture(scope="module")
def keyonly(hardened: Server) -> Project:
    return hardened.keys("keyonly", key_only=True)
