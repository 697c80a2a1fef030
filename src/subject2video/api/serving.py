"""Serving the app: uvicorn with a graceful stop, a limit on request headers, one server per data
directory.

- Stop: SIGTERM, SIGINT and SIGHUP all stop gracefully (uvicorn alone ends at once on SIGHUP, and
  stops gracefully only on SIGINT twice); a second signal of any of them stops at once. The first
  signal drains while the server keeps serving: the app's `state.drain` (api/app.py) runs on a
  thread of its own (Run answers 503 with Retry-After, /readyz says "draining", reads and
  WebSockets go on, the dispatcher lets the workers finish), and only when it returns does uvicorn
  close the port and end.
- Headers: at most `MAX_HEADER_BYTES` before the body (request line and headers together); past
  it, 431 and the connection is closed, without reading the rest (a 100 MB header is not read).
  Counted as the bytes arrive and before the head is parsed to its end, whether it comes in one
  read or in pieces, on each HTTP implementation (`PROTOCOLS`, S2V_HTTP) and for WebSocket
  upgrades alike.
- Lock: `<data dir>/server.lock`, held while the server runs, so that a second server on the same
  data directory (two local workers on one SQLite file) refuses to start.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import IO, Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from subject2video.stopping import STOP, STOP_SIGNALS

logger = logging.getLogger(__name__)

#: The request line and headers of one request, together.
MAX_HEADER_BYTES = 64 * 1024
LOCK_NAME = "server.lock"


class DataDirBusy(Exception):
    """Another server holds the data directory's lock."""


def lock_data_dir(data_dir: Path) -> IO[str]:
    """Take the data directory's lock for this process's life (keep the returned file open)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = (data_dir / LOCK_NAME).open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise DataDirBusy(
            f"another s2v server (pid {holder}) is using the data directory {data_dir}; "
            "stop it first, or give this server its own --data-dir"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


class _HeadTooLarge(Exception):
    """Raised from a parser callback: the head being parsed passed `MAX_HEADER_BYTES`."""


def _refuse_head(protocol: Any) -> None:
    """Answer 431 on `protocol`'s transport and close it, without reading the rest."""
    transport = protocol.transport
    if transport is None or transport.is_closing():
        return
    message = f"Request headers are larger than {MAX_HEADER_BYTES} bytes"
    logger.info("request refused: %s", message, extra={"client": protocol.client})
    transport.write(
        b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
        b"content-type: text/plain; charset=utf-8\r\n"
        + f"content-length: {len(message)}\r\n".encode()
        + b"connection: close\r\n\r\n"
        + message.encode()
    )
    transport.close()


class HeaderLimitedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing requests whose head passes `MAX_HEADER_BYTES`.

    Counted twice, so that no way of sending a head gets past: the raw bytes of a head that has
    not ended yet, before they reach the parser (a head that never ends is cut after one read past
    the limit); and each request's request line and headers as the parser hands them over, before
    the head is complete (a whole head in one read, or a second request on a kept-alive
    connection). The WebSocket upgrade's head is parsed here first, so it is counted the same way.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._raw_head_bytes = 0
        self._parsed_head_bytes = 0
        self._too_large = False

    def data_received(self, data: bytes) -> None:
        if self._too_large:
            return
        if self._in_head and b"\r\n\r\n" not in data:
            self._raw_head_bytes += len(data)
            if self._raw_head_bytes > MAX_HEADER_BYTES:
                self._too_large = True
                _refuse_head(self)
                return
        super().data_received(data)

    def on_message_begin(self) -> None:
        self._parsed_head_bytes = 0
        super().on_message_begin()

    def _count(self, size: int) -> None:
        self._parsed_head_bytes += size
        if self._parsed_head_bytes > MAX_HEADER_BYTES:
            self._too_large = True
            raise _HeadTooLarge  # httptools stops parsing; uvicorn answers `send_400_response`

    def on_url(self, url: bytes) -> None:
        self._count(len(url) + 16)  # the method and the protocol version around it
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._raw_head_bytes = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True

    def send_400_response(self, msg: str) -> None:
        if self._too_large:
            _refuse_head(self)
        else:
            super().send_400_response(msg)


class HeaderLimitedH11(H11Protocol):
    """uvicorn's h11 protocol with the same limit: before h11 parses a request, the head waiting
    in its buffer is measured (up to its blank line, or all of it while it has none). h11 itself
    only limits heads that have not ended yet, and answers 400."""

    def handle_events(self) -> None:
        if self.conn.their_state is h11.IDLE:
            buffered, _ = self.conn.trailing_data
            end = buffered.find(b"\r\n\r\n")
            size = end + 4 if end >= 0 else len(buffered)
            if size > MAX_HEADER_BYTES:
                _refuse_head(self)
                return
        super().handle_events()


#: The HTTP implementations `serve` may run (S2V_HTTP), each with the header limit.
PROTOCOLS: dict[str, type[asyncio.Protocol]] = {
    "httptools": HeaderLimitedHttpTools,
    "h11": HeaderLimitedH11,
}


class GracefulServer(uvicorn.Server):
    """uvicorn's server, stopping gracefully on SIGTERM, SIGINT and SIGHUP, at once on a second.

    `drain` gives what to run before the port closes (None: nothing, close at once)."""

    def __init__(
        self, config: uvicorn.Config, drain: Callable[[], Callable[[], None] | None] | None = None
    ) -> None:
        super().__init__(config)
        self._drain = drain
        self._draining: threading.Thread | None = None

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        original = {sig: signal.signal(sig, self.handle_exit) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if STOP.note(sig):
            if self._draining is not None and self._draining.is_alive():
                return  # the drain ends at once (STOP.immediate), then the usual shutdown runs
            self.force_exit = True
            self.should_exit = True
            return
        drain = self._drain() if self._drain is not None else None
        if drain is None:
            self.should_exit = True
            return
        self._draining = threading.Thread(
            target=self._drain_then_exit, args=(drain,), name="s2v-drain"
        )
        self._draining.start()

    def _drain_then_exit(self, drain: Callable[[], None]) -> None:
        try:
            drain()
        except Exception:
            logger.exception("draining failed; stopping now")
        finally:
            self.should_exit = True


def serve(app: Any, *, host: str, port: int, http: str = "httptools") -> None:
    """Run `app` until a signal stops it, parsing HTTP with `http` (a key of `PROTOCOLS`)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        ws_max_size=1 << 20,
        http=PROTOCOLS[http],
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        timeout_graceful_shutdown=5,
    )
    GracefulServer(config, drain=lambda: getattr(getattr(app, "state", None), "drain", None)).run()
