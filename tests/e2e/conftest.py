"""The browser: Debian's chromium driven by Playwright, and a real `s2v serve` to point it at."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.utils.server import REPO, Server

CHROMIUM = Path(os.environ.get("S2V_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = REPO / "artifacts" / "screenshots"


def _missing(what: str) -> None:
    # CI installs both (.ci/run and the test extra): there a missing browser is a failure.
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing; .ci/run should have installed it")
    pytest.skip(f"{what} is missing (apt-get install chromium; pip install -e '.[test]')")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package")
    if not CHROMIUM.exists():
        _missing(str(CHROMIUM))
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def playground(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    """A server slow enough to watch (and kill) a task, and the signed-in URL it printed."""
    server = Server(
        tmp_path_factory.mktemp("playground"),
        env={
            "S2V_ENGINE": "tests.utils.engines:PacedCameraEngine",
            "S2V_TEST_FRAME_DELAY": "0.04",
            "S2V_KILL_GRACE_SECONDS": "2",
        },
    )
    server.start()
    found = re.search(r"Playground: (\S+)", server.log())
    assert found, f"s2v serve printed no playground URL: {server.log()}"
    yield server, found.group(1)
    server.stop()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
