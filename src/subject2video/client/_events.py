"""Task events: the WebSocket when it is reachable, polling Task/Detail with backoff when it is not.

Both paths yield the same typed `Event`s and stop at a final status; both raise WaitTimeout at the
deadline. The frame parsing and polling state live here once; the loops are doubled (sync, async).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from websockets.asyncio.client import connect as async_connect
from websockets.exceptions import WebSocketException
from websockets.sync.client import connect as sync_connect

from subject2video.client._exceptions import WaitTimeout
from subject2video.client._models import Event, Task
from subject2video.tasks.status import Status

logger = logging.getLogger(__name__)

#: If the socket is silent this long, Task/Detail is asked once (a lost frame never stalls a wait).
SILENCE_SECONDS = 10.0
#: Polling interval: starts short, grows by POLL_FACTOR to POLL_MAX, resets on a change.
POLL_MIN, POLL_MAX, POLL_FACTOR = 0.25, 3.0, 1.5


class SocketRefused(Exception):
    """The socket does not know the task (another server or project): poll instead."""


#: Errors that mean "no usable socket here": fall back to polling.
SOCKET_ERRORS: tuple[type[BaseException], ...] = (OSError, WebSocketException, SocketRefused)


def subscribe_message(token: str) -> str:
    return json.dumps({"type": "task_info", "tasktoken": token})


def parse_frame(text: str | bytes, token: str) -> Event | None:
    """The event of one frame for `token`, or None for frames to skip (hello, other tasks)."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("type") in (None, "connected"):
        return None
    if data.get("tasktoken") not in (None, "", token):
        return None
    if data.get("type") == "task_error" and str(data.get("id") or "0") == "0":
        raise SocketRefused(str(data.get("message")))
    return Event.from_wire(data)


class PollState:
    """Turns successive Detail answers into events, one per change of status or progress."""

    def __init__(self) -> None:
        self.last: tuple[str, float | None] | None = None
        self.interval = POLL_MIN

    def seen(self, event: Event) -> None:
        """Note a socket event, so that polling after a dropped socket does not repeat it."""
        progress = event.progress
        self.last = (str(event.type), progress.percentage if progress else None)

    def event(self, task: Task) -> Event | None:
        """The event for `task`, or None when nothing changed since the last one."""
        key = (str(task.status), task.progress.percentage if task.progress else None)
        if task.status != Status.output:
            key = (key[0], None)
        if key == self.last:
            self.interval = min(self.interval * POLL_FACTOR, POLL_MAX)
            return None
        self.last, self.interval = key, POLL_MIN
        message: Any = None
        if task.status == Status.output and task.progress is not None:
            message = task.progress.raw
        elif task.status == Status.postprocess_end:
            message = [o.raw for o in task.outputs]
        return Event.from_wire(
            {
                "type": str(task.status),
                "id": str(task.id),
                "tasktoken": task.socketaccesstoken,
                "message": message,
                "task": task,
            }
        )


def _remaining(deadline: float | None) -> float:
    return float("inf") if deadline is None else deadline - time.monotonic()


def _timeout(deadline: float | None, task: Any = None) -> WaitTimeout:
    return WaitTimeout("the task was not final before the deadline", task=task)


# -- sync --------------------------------------------------------------------------------------


def sync_events(
    detail: Callable[[], Task],
    token: str,
    socket_url: str | None,
    deadline: float | None,
) -> Iterator[Event]:
    """Events of one task until a final status; WebSocket first, polling after."""
    state = PollState()
    if socket_url:
        try:
            for event in _sync_socket(detail, token, socket_url, deadline, state):
                yield event
                if event.is_final:
                    return
        except WaitTimeout:
            raise
        except SOCKET_ERRORS as exc:
            logger.debug("events: socket %s unavailable (%s); polling", socket_url, exc)
    yield from _sync_poll(detail, deadline, state)


def _sync_socket(
    detail: Callable[[], Task], token: str, url: str, deadline: float | None, state: PollState
) -> Iterator[Event]:
    open_timeout = min(10.0, max(_remaining(deadline), 0.1))
    with sync_connect(url, open_timeout=open_timeout, close_timeout=1) as ws:
        ws.send(subscribe_message(token))
        while True:
            remaining = _remaining(deadline)
            if remaining <= 0:
                raise _timeout(deadline)
            try:
                text = ws.recv(timeout=min(remaining, SILENCE_SECONDS))
            except TimeoutError:
                if (event := state.event(detail())) is not None:
                    yield event
                continue
            if (event := parse_frame(text, token)) is not None:
                state.seen(event)
                yield event


def _sync_poll(
    detail: Callable[[], Task], deadline: float | None, state: PollState
) -> Iterator[Event]:
    while True:
        task = detail()
        if (event := state.event(task)) is not None:
            yield event
        if task.is_final:
            return
        remaining = _remaining(deadline)
        if remaining <= 0:
            raise _timeout(deadline, task)
        time.sleep(min(state.interval, remaining))


# -- async -------------------------------------------------------------------------------------


async def async_events(
    detail: Callable[[], Awaitable[Task]],
    token: str,
    socket_url: str | None,
    deadline: float | None,
) -> AsyncIterator[Event]:
    """Events of one task until a final status; WebSocket first, polling after."""
    state = PollState()
    if socket_url:
        try:
            async for event in _async_socket(detail, token, socket_url, deadline, state):
                yield event
                if event.is_final:
                    return
        except WaitTimeout:
            raise
        except SOCKET_ERRORS as exc:
            logger.debug("events: socket %s unavailable (%s); polling", socket_url, exc)
    async for event in _async_poll(detail, deadline, state):
        yield event


async def _async_socket(
    detail: Callable[[], Awaitable[Task]],
    token: str,
    url: str,
    deadline: float | None,
    state: PollState,
) -> AsyncIterator[Event]:
    open_timeout = min(10.0, max(_remaining(deadline), 0.1))
    async with async_connect(url, open_timeout=open_timeout, close_timeout=1) as ws:
        await ws.send(subscribe_message(token))
        while True:
            remaining = _remaining(deadline)
            if remaining <= 0:
                raise _timeout(deadline)
            try:
                text = await asyncio.wait_for(ws.recv(), min(remaining, SILENCE_SECONDS))
            except TimeoutError:
                if (event := state.event(await detail())) is not None:
                    yield event
                continue
            if (event := parse_frame(text, token)) is not None:
                state.seen(event)
                yield event


async def _async_poll(
    detail: Callable[[], Awaitable[Task]], deadline: float | None, state: PollState
) -> AsyncIterator[Event]:
    while True:
        task = await detail()
        if (event := state.event(task)) is not None:
            yield event
        if task.is_final:
            return
        remaining = _remaining(deadline)
        if remaining <= 0:
            raise _timeout(deadline, task)
        await asyncio.sleep(min(state.interval, remaining))
