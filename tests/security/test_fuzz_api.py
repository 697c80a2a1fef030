"""Schemathesis against our own OpenAPI document: every operation, over a real server.

Cases come with a key-only project's header, a signed project's headers, or whatever the fuzzer
made up. Every answer must be below 500, a documented status, and in its documented envelope.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from subject2video.api.app import create_app
from subject2video.config import Settings
from tests.utils.figures import record
from tests.utils.server import Project, Server

#: Examples per operation: with the explicit and coverage cases, over 1000 cases in a run.
EXAMPLES = 50
_DOCUMENT = create_app(Settings(data_dir=Path(tempfile.gettempdir()) / "s2v-openapi")).openapi()
schema = schemathesis.openapi.from_dict(_DOCUMENT)
_counts = {"tried": 0, "handled": 0, "server_errors": 0}
_turn = itertools.count()
_NO_ENVELOPE = ("/healthz", "/readyz", "/metrics")
_MINIMAX = ("/v1/video_generation", "/v1/query/video_generation", "/v1/files/retrieve")
_OPENAI = ("/v1/videos", "/v1/models")
#: Replicate's operations (their summaries say so): bearer auth, Replicate's error body.
_REPLICATE = {
    (path, method.upper())
    for path, item in _DOCUMENT["paths"].items()
    for method, operation in item.items()
    if str(operation.get("summary", "")).startswith("Replicate:")
}


@pytest.fixture(scope="module", autouse=True)
def _figures() -> Iterator[None]:
    yield
    if _counts["tried"]:
        record(
            "API fuzzing (schemathesis, 5xx or off-envelope answers)",
            tried=_counts["tried"],
            handled=_counts["handled"],
            got_through=_counts["server_errors"],
        )


def _auth(case: Any, keyonly: Project, signed: Project) -> dict[str, str]:
    turn = next(_turn) % 4
    if (case.path, case.method.upper()) in _REPLICATE:
        return {"authorization": f"Bearer {keyonly.apikey}"} if turn else {}
    if case.path in _MINIMAX or case.path.startswith(_OPENAI):
        return {"authorization": f"Bearer {keyonly.apikey}"} if turn else {}
    if turn in (0, 1):
        return keyonly.headers()
    if turn == 2:
        return signed.headers()
    return {}  # the fuzzer's own headers, if any


def _check(case: Any, response: Any) -> None:
    """No 5xx; a documented status; the documented envelope."""
    assert response.status_code < 500, response.text
    operation = _DOCUMENT["paths"][case.path].get(case.method.lower())
    # The fuzzer also tries methods a path does not have: those must be 405, in the envelope.
    documented = {int(code) for code in operation["responses"]} if operation else {405}
    assert response.status_code in documented, (response.status_code, response.text)
    if (
        case.method == "HEAD"
        or case.path in _NO_ENVELOPE
        or (case.path.startswith("/v1/File/") and response.status_code != 404)
        or (case.path.endswith("/content") and response.status_code == 200)
    ):
        return
    assert (response.headers.get("content-type") or [""])[0].startswith("application/json"), (
        case.method,
        response.status_code,
        response.text[:200],
    )
    if response.status_code == 204:
        return
    body = response.json()
    if (case.path, case.method.upper()) in _REPLICATE:
        if response.status_code >= 400:  # Replicate's problem details
            assert isinstance(body["title"], str) and isinstance(body["detail"], str), body
            assert body["status"] == response.status_code, body
        return
    if case.path.startswith(_OPENAI) and operation:
        if response.status_code >= 400:  # OpenAI's envelope
            error = body["error"]
            assert isinstance(error["message"], str) and isinstance(error["type"], str), body
            assert set(error) == {"message", "type", "param", "code"}, body
        return
    if case.path in _MINIMAX and operation:
        assert isinstance(body["base_resp"]["status_code"], int)
        assert isinstance(body["base_resp"]["status_msg"], str)
        return
    assert isinstance(body["result"], bool), body
    assert isinstance(body["errors"], list), body
    for error in body["errors"]:
        assert isinstance(error["code"], int) and isinstance(error["message"], str), body
    assert body["result"] == (not body["errors"]), body


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_api_fuzz(case: Any, hardened: Server, keyonly: Project, signed: Project) -> None:
    """One fuzzed request: answered below 500, in the documented status and envelope."""
    headers = {**(case.headers or {}), **_auth(case, keyonly, signed)}
    response = case.call(base_url=hardened.url, headers=headers, timeout=30)
    _counts["tried"] += 1
    if response.status_code >= 500:
        _counts["server_errors"] += 1
    _check(case, response)
    _counts["handled"] += 1
