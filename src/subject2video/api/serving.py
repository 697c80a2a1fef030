"""Serving the app: uvicorn with a graceful stop, a limit on request headers, one server per data
directory.

- Stop: SIGTERM, SIGINT and SIGHUP all stop gracefully (uvicorn alone ends at once on SIGHUP, and
  stops gracefully only on SIGINT twice); a second signal of any of them stops at once. The work
  itself is drained by the dispatcher (`Supervisor.stop`), in the app's lifespan.
- Headers: at most `MAX_HEADER_BYTES` before the body (request line and headers together); past
  it, 431 and the connection is closed, without reading the rest (a 100 MB header is not read).
- Lock: `<data dir>/server.lock`, held while the server runs, so that a second server on the same
  data directory (two local workers on one SQLite file) refuses to start.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import IO, Any

import uvicorn
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


class HeaderLimitedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing requests whose headers pass `MAX_HEADER_BYTES`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._head_bytes = 0

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._in_head and self._head_bytes > MAX_HEADER_BYTES:
            self._refuse_head()

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True
        self._head_bytes = 0

    def _refuse_head(self) -> None:
        if self.transport.is_closing():
            return
        message = f"Request headers are larger than {MAX_HEADER_BYTES} bytes"
        logger.info("request refused: %s", message, extra={"client": self.client})
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: text/plain; charset=utf-8\r\n"
            + f"content-length: {len(message)}\r\n".encode()
            + b"connection: close\r\n\r\n"
            + message.encode()
        )
        self.transport.close()


class GracefulServer(uvicorn.Server):
    """uvicorn's server, stopping gracefully on SIGTERM, SIGINT and SIGHUP, at once on a second."""

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
            self.force_exit = True
        self.should_exit = True


def serve(app: Any, *, host: str, port: int) -> None:
    """Run `app` until a signal stops it."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        ws_max_size=1 << 20,
        http=HeaderLimitedHttpTools,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        timeout_graceful_shutdown=5,
    )
    GracefulServer(config).run()
