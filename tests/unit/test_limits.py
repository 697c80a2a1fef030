"""Limits at the door (contract) and the fetcher's total deadline against a trickling peer."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from subject2video.contract import (
    MAX_JSON_DEPTH,
    check_fields,
    check_text,
    load_json,
    parse_run,
    parse_task_id,
    token_ok,
)
from subject2video.errors import FetchError, InputError, NotFound
from subject2video.media.fetch import FetchPolicy, fetch, post


@pytest.mark.parametrize("value", ["a\ud800b", "\udfff", "a\x00b", "x" * 5000])
def test_text_that_no_later_step_can_hold_is_refused(value: str) -> None:
    with pytest.raises(InputError) as caught:
        check_text(value, "prompt")
    assert caught.value.parameter == "prompt"
    assert "[prompt]" in caught.value.message


def test_every_field_is_checked_even_ignored_ones() -> None:
    check_fields({"prompt": "She smiles 😀", "other": "ok"})
    with pytest.raises(InputError, match=r"\[other\]"):
        check_fields({"other": "\ud800"})
    with pytest.raises(InputError, match="prompt"):
        parse_run({"inputImageFirstUrl": "http://a.b/c.jpg", "prompt": "\ud800"})


def test_json_depth_is_bounded_without_recursion() -> None:
    assert load_json("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None
    assert load_json('{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}') == {"a": "[" * 41}
    with pytest.raises(InputError, match="32 levels"):
        load_json("[" * 10_000 + "]" * 10_000)
    with pytest.raises(InputError, match="not valid JSON"):
        load_json("{nope")


@pytest.mark.parametrize("raw", ["\u00b2", str(2**63), "1" * 30, "-1", "1.0", ""])
def test_task_ids_that_name_no_task(raw: str) -> None:
    with pytest.raises(NotFound):
        parse_task_id(raw)


def test_task_ids_and_tokens_that_may() -> None:
    assert parse_task_id(" 42 ") == 42
    assert token_ok("a" * 30) and not token_ok("\ud800") and not token_ok("a" * 65)


@pytest.fixture
def trickler() -> Iterator[str]:
    """A server that answers one byte every 0.2 s, never finishing its headers."""
    server = socket.create_server(("127.0.0.2", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=trickle, args=(conn,), daemon=True).start()

    def trickle(conn: socket.socket) -> None:
        try:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\n" + b"X: " + b"a" * 1000:
                if stop.wait(0.2):
                    return
                conn.send(bytes([byte]))
        except OSError:
            pass
        finally:
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.2:{server.getsockname()[1]}/x"
    stop.set()
    server.close()


def test_a_trickle_is_cut_at_the_total_deadline(trickler: str) -> None:
    policy = FetchPolicy(allow=("127.0.0.2",), timeout=1.0)
    for call in (
        lambda: fetch(trickler, policy, parameter="inputImageFirstUrl"),
        lambda: post(trickler, b"{}", {}, policy, timeout=1.0),
    ):
        started = time.monotonic()
        with pytest.raises(FetchError, match="no complete answer within 1 seconds"):
            call()
        assert time.monotonic() - started < 1.0 + 0.5


def test_the_callers_check_ends_a_fetch_at_once(trickler: str) -> None:
    class Killed(Exception):
        pass

    began = time.monotonic()

    def check() -> None:
        if time.monotonic() - began > 0.3:
            raise Killed

    policy = FetchPolicy(allow=("127.0.0.2",), timeout=30.0)
    with pytest.raises(Killed):
        fetch(trickler, policy, parameter="inputImageFirstUrl", check=check)
    assert time.monotonic() - began < 0.3 + 0.5
