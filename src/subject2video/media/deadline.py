"""A network backend for httpx that keeps a total deadline at every socket wait.

httpx's timeouts are per operation: a peer that sends one byte a second never trips a read timeout
and can hold a call for as long as it likes. Here every wait (connect, TLS, each read and write)
lasts at most what is left of the call's deadline, in slices of `SLICE_SECONDS`, and the caller's
`check` runs before each slice, so a task's kill or time limit ends a fetch at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import httpcore
import httpx

#: Longest single wait on a socket: how often the deadline and the caller's check are looked at.
SLICE_SECONDS = 0.25


class Deadline(Protocol):
    """One call's limits: when it must be over (time.monotonic), and what may stop it sooner."""

    @property
    def deadline(self) -> float: ...

    @property
    def check(self) -> Callable[[], None] | None: ...


def deadline_transport(call: Deadline) -> httpx.HTTPTransport:
    """httpx's transport over a network backend that keeps `call`'s deadline."""
    transport = httpx.HTTPTransport(trust_env=False)
    # httpx takes no network backend, so its pool is rebuilt with ours (same TLS context).
    ssl_context = transport._pool._ssl_context  # type: ignore[union-attr]
    transport._pool = httpcore.ConnectionPool(
        ssl_context=ssl_context, network_backend=_DeadlineBackend(call)
    )
    return transport


def _waits(call: Deadline, timeout: float | None) -> Iterable[float]:
    """Slices of at most `SLICE_SECONDS` until `timeout` (httpx's, per operation) or the call's
    deadline, whichever comes first; the caller's check runs before each."""
    end = call.deadline if timeout is None else min(call.deadline, time.monotonic() + timeout)
    while True:
        if call.check is not None:
            call.check()
        left = end - time.monotonic()
        if left <= 0:
            return
        yield min(left, SLICE_SECONDS)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every wait is sliced and ends at the call's deadline."""

    def __init__(self, stream: httpcore.NetworkStream, call: Deadline) -> None:
        self._stream = stream
        self._call = call

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        for wait in _waits(self._call, timeout):
            try:
                return self._stream.read(max_bytes, wait)
            except httpcore.ReadTimeout:
                continue
        raise httpcore.ReadTimeout("no complete answer before the deadline")

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        for wait in _waits(self._call, timeout):
            self._stream.write(buffer, max(self._call.deadline - time.monotonic(), wait))
            return
        raise httpcore.WriteTimeout("could not send before the deadline")

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        left = _left(self._call, timeout)
        upgraded = self._stream.start_tls(ssl_context, server_hostname, left)
        return _DeadlineStream(upgraded, self._call)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """Plain sockets (httpcore's sync backend), each wait bounded by the call's deadline."""

    def __init__(self, call: Deadline) -> None:
        self._call = call
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(
            host, port, _left(self._call, timeout), local_address, socket_options
        )
        return _DeadlineStream(stream, self._call)

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not fetched")

    def sleep(self, seconds: float) -> None:
        time.sleep(min(seconds, max(self._call.deadline - time.monotonic(), 0)))


def _left(call: Deadline, timeout: float | None) -> float:
    """What is left of the deadline (and of `timeout`), after the caller's check."""
    if call.check is not None:
        call.check()
    left = call.deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ConnectTimeout("no time left before the deadline")
    return left if timeout is None else min(left, timeout)
