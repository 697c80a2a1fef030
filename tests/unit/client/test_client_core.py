"""The client's core without a server: signing, nonces, URLs, error mapping, retry decisions."""

from __future__ import annotations

import itertools
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from subject2video.api.auth import signature as server_signature
from subject2video.client import (
    APIError,
    AuthenticationError,
    BadRequestError,
    Client,
    Config,
    ConflictError,
    NonceGenerator,
    NotFoundError,
    RateLimitError,
    ServerError,
    TransportError,
    sign,
    socket_url_for,
)
from subject2video.client._core import Core, api_error, parse_retry_after, task_body
from subject2video.contract import IMAGE, PROMPT


def test_signature_is_hmac_of_secret_plus_nonce_keyed_by_apikey() -> None:
    assert sign("key", "secret", "1700000000000") == server_signature(
        "key", "secret", "1700000000000"
    )
    # The wrong formula a published client used (key and message swapped) must differ.
    assert sign("key", "secret", "1") != sign("secret1", "key", "")
    assert len(sign("k", "s", "1")) == 64


def test_nonces_strictly_increase_in_ms_under_threads() -> None:
    nonces = NonceGenerator()
    per_thread: list[list[int]] = [[] for _ in range(8)]

    def work(out: list[int]) -> None:
        out.extend(int(nonces()) for _ in range(500))

    threads = [threading.Thread(target=work, args=(out,)) for out in per_thread]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [n for out in per_thread for n in out]
    assert len(set(every)) == len(every) == 4000
    assert all(a < b for out in per_thread for a, b in itertools.pairwise(out))
    now_ms = time.time_ns() // 1_000_000
    assert now_ms - 60_000 < min(every) and max(every) < now_ms + 5_000


def test_core_signs_each_request_with_a_fresh_nonce() -> None:
    core = Core(Config(api_key="k", api_secret="s"))
    first, second = core.auth_headers(), core.auth_headers()
    assert int(second["x-nonce"]) > int(first["x-nonce"])
    assert first["x-signature"] == sign("k", "s", first["x-nonce"])
    assert Core(Config(api_key="k")).auth_headers() == {"x-api-key": "k"}


def test_socket_url() -> None:
    assert socket_url_for("http://127.0.0.1:8000") == "ws://127.0.0.1:8000/v1"
    assert socket_url_for("https://api.wiro.ai") == "wss://socket.wiro.ai/v1"
    assert socket_url_for("https://s2v.example/base/") == "wss://s2v.example/base/v1"
    assert Config(api_key="k", socket_url="").events_url is None
    assert Config(api_key="k", socket_url="ws://x/v1").events_url == "ws://x/v1"


def test_config_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIRO_API_KEY", "envkey")
    monkeypatch.setenv("WIRO_API_SECRET", "envsecret")
    monkeypatch.setenv("S2V_BASE_URL", "https://api.wiro.ai")
    config = Config.from_env(api_secret="argsecret")
    assert (config.api_key, config.api_secret, config.base_url) == (
        "envkey",
        "argsecret",
        "https://api.wiro.ai",
    )
    with Client() as client:  # every argument None: the environment decides
        assert client.config == Config("https://api.wiro.ai", "envkey", "envsecret")
    monkeypatch.delenv("WIRO_API_KEY")
    with pytest.raises(ValueError, match="WIRO_API_KEY"):
        Config.from_env()


def test_task_body() -> None:
    assert task_body(12) == {"taskid": "12"}
    assert task_body("12") == {"taskid": "12"}
    assert task_body("eDcCm5yyUfIvMFspTwww49OUfgXkQt") == {
        "tasktoken": "eDcCm5yyUfIvMFspTwww49OUfgXkQt"
    }
    with pytest.raises(ValueError):
        task_body("")


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (404, NotFoundError),
        (409, ConflictError),
        (413, BadRequestError),
        (429, RateLimitError),
        (500, ServerError),
        (418, APIError),
    ],
)
def test_error_mapping(status: int, cls: type[APIError]) -> None:
    body = {"result": False, "errors": [{"code": 1, "message": "There is no task yet."}]}
    error = api_error(status, body, "3")
    assert type(error) is cls
    assert error.status == status and error.codes == [1]
    assert error.message == "There is no task yet."
    if isinstance(error, RateLimitError):
        assert error.retry_after == 3.0


def test_retry_after_forms() -> None:
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after(None) is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 < (parse_retry_after(later) or 0) <= 30


def test_retry_policy() -> None:
    core = Core(Config(api_key="k", max_retries=2))
    run = core.run_request("MiniMax/x", "https://example.com/f.jpg")
    detail = core.task_request("Detail", 1)
    kill = core.task_request("Kill", 1)
    network = TransportError("reset")
    assert core.retry_delay(run, 0, network, transport=True) is None
    assert core.retry_delay(kill, 0, network, transport=True) is None
    assert core.retry_delay(detail, 0, network, transport=True) is not None
    assert core.retry_delay(detail, 2, network, transport=True) is None  # out of tries
    limited = RateLimitError("limit", retry_after=1.5, status=429)
    assert core.retry_delay(run, 0, limited, transport=False) == 1.5  # 429 created nothing
    too_long = RateLimitError("limit", retry_after=3600, status=429)
    assert core.retry_delay(detail, 0, too_long, transport=False) is None
    assert core.retry_delay(detail, 0, ServerError("x", status=503), transport=False) is not None
    assert core.retry_delay(detail, 0, BadRequestError("x", status=400), transport=False) is None


DETAIL = {
    "total": "1",
    "errors": [],
    "tasklist": [{"id": "7", "status": "task_queue", "socketaccesstoken": "t" * 30}],
    "result": True,
}


def _mock(answers: list[httpx.Response | Exception], seen: list[httpx.Request]) -> Client:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return Client("k", "s", "http://api.test", transport=httpx.MockTransport(handler))


def test_detail_retries_network_failures_with_fresh_nonces() -> None:
    seen: list[httpx.Request] = []
    client = _mock([httpx.ConnectError("refused"), httpx.Response(200, json=DETAIL)], seen)
    assert client.detail(7).id == 7
    assert len(seen) == 2
    assert seen[0].headers["x-nonce"] != seen[1].headers["x-nonce"]


def test_run_is_never_retried_after_a_network_failure() -> None:
    seen: list[httpx.Request] = []
    client = _mock([httpx.ReadTimeout("slow"), httpx.Response(200, json={})], seen)
    with pytest.raises(TransportError):
        client.run(image="https://example.com/face.jpg")
    assert len(seen) == 1


def test_rate_limit_honours_retry_after_then_raises() -> None:
    limit = {"result": False, "errors": [{"code": 96, "message": "Concurrency limit reached"}]}
    ok = {"errors": [], "taskid": "9", "socketaccesstoken": "t" * 30, "result": True}
    seen: list[httpx.Request] = []
    client = _mock(
        [
            httpx.Response(429, json=limit, headers={"Retry-After": "0.2"}),
            httpx.Response(200, json=ok),
        ],
        seen,
    )
    started = time.monotonic()
    assert client.run(image="https://example.com/face.jpg").taskid == 9
    assert time.monotonic() - started >= 0.2 and len(seen) == 2
    answers = [httpx.Response(429, json=limit, headers={"Retry-After": "0"})] * 4
    with pytest.raises(RateLimitError) as caught:
        _mock(answers, []).run(image="https://example.com/face.jpg")
    assert caught.value.codes == [96] and caught.value.retry_after == 0


def test_result_false_with_200_is_an_error() -> None:
    body = {"result": False, "errors": [{"code": 0, "message": "nope"}]}
    with pytest.raises(APIError, match="nope"):
        _mock([httpx.Response(200, json=body)], []).detail(1)


def test_run_request_checks_the_contracts_limits_before_sending() -> None:
    """The SDK refuses what Run would refuse, with the limits the contract declares."""
    core = Core(Config(api_key="k"))
    limit = int(PROMPT.limits["maxlength"])
    assert core.run_request("MiniMax/x", "https://example.com/f.jpg", prompt="p" * limit)
    with pytest.raises(ValueError, match=rf"\[prompt\] is {limit + 1} characters; at most {limit}"):
        core.run_request("MiniMax/x", "https://example.com/f.jpg", prompt="p" * (limit + 1))
    with pytest.raises(ValueError, match=r"\[inputImageFirst\] is an empty file"):
        core.run_request("MiniMax/x", b"")
    big = b"\xff\xd8" + bytes(int(IMAGE.limits["maxbytes"]))
    with pytest.raises(ValueError, match=r"\[inputImageFirst\] is \d+ bytes; at most"):
        core.run_request("MiniMax/x", big)
