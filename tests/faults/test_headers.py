"""Oversized request heads: refused with 431 however they arrive (in one write, in pieces, as a
WebSocket upgrade), on each HTTP implementation the server may run (S2V_HTTP), before the app sees
them; the server keeps answering afterwards."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.faults.conftest import no_server_errors
from tests.utils.server import Server


@pytest.fixture(scope="module", params=["httptools", "h11"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    data_dir: Path = tmp_path_factory.mktemp(f"headers-{request.param}")
    srv = Server(data_dir, env={"S2V_ENGINE": "camera", "S2V_HTTP": request.param})
    srv.start()
    yield srv
    srv.stop(timeout=10)


def _answer(server: Server, pieces: list[bytes], pause: float = 0.0) -> bytes:
    """Send `pieces` (one write each, `pause` between) and read the answer's first bytes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        for piece in pieces:
            try:
                sock.sendall(piece)
            except OSError:
                break  # refused and closed before the rest was sent: what we want to see
            time.sleep(pause)
        try:
            return sock.recv(200)
        except OSError:
            return b""


def _head(size: int, extra: bytes = b"") -> bytes:
    return (
        b"GET /readyz HTTP/1.1\r\nHost: localhost\r\n"
        + extra
        + b"X-Padding: "
        + b"a" * size
        + b"\r\n\r\n"
    )


def test_a_100_kb_head_in_one_write_is_refused(server: Server) -> None:
    answer = _answer(server, [_head(100_000)])
    assert answer.startswith(b"HTTP/1.1 431"), answer


def test_a_70_kb_head_in_ten_pieces_is_refused(server: Server) -> None:
    head = _head(70_000)
    step = len(head) // 10 + 1
    answer = _answer(server, [head[i : i + step] for i in range(0, len(head), step)], pause=0.05)
    assert answer.startswith(b"HTTP/1.1 431"), answer


def test_a_big_websocket_upgrade_is_refused(server: Server) -> None:
    upgrade = (
        b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    )
    head = _head(100_000, upgrade).replace(b"/readyz", b"/v1")
    answer = _answer(server, [head])
    assert answer.startswith(b"HTTP/1.1 431"), answer


def test_a_big_head_after_a_small_request_on_one_connection_is_refused(server: Server) -> None:
    """Keep-alive (pipelined in one write): the second request's head is counted on its own,
    and refused (the first one may or may not be answered before the connection closes)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        sock.sendall(_head(10) + _head(100_000))
        received = b""
        deadline = time.monotonic() + 20
        while b"HTTP/1.1 431" not in received and time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    assert b"HTTP/1.1 431" in received, received[-300:]


def test_heads_under_the_limit_still_pass(server: Server) -> None:
    response = httpx.get(f"{server.url}/readyz", headers={"x-padding": "a" * 30_000}, timeout=10)
    assert response.status_code == 200, response.text
    answer = _answer(server, [_head(30_000)[i : i + 3000] for i in range(0, 30_100, 3000)], 0.01)
    assert answer.startswith(b"HTTP/1.1 200"), answer
    no_server_errors(server)
