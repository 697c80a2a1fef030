"""WebSocket `/v1`: live task events keyed by socket access token.

Hello frame on connect; `{"type":"task_info","tasktoken":...}` subscribes (several per connection);
the task's current status is sent at once, then every later event in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from subject2video.api.deps import Services
from subject2video.api.wiro.wire import output_dict
from subject2video.contract import load_json, token_ok
from subject2video.errors import InputError
from subject2video.tasks.events import Event
from subject2video.tasks.models import Task
from subject2video.tasks.status import Status

logger = logging.getLogger(__name__)
router = APIRouter()

MAX_SUBSCRIPTIONS = 100
_STATUSES = frozenset(s.value for s in Status)


def current_event(services: Services, task: Task) -> Event:
    """The event that describes where `task` is now."""
    message: Any = None
    if task.status == Status.output.value:
        message = task.progress
    elif task.status == Status.postprocess_end.value:
        outputs = services.tasks.outputs_of([task])[task.id]
        message = [output_dict(o, task, services.settings.base_url) for o in outputs]
    return Event(task.status, task.id, task.socketaccesstoken, message)


def _with_outputs(services: Services, event: Event) -> Event:
    task = services.tasks.by_token(event.tasktoken)
    if task is None:
        return Event(event.type, event.task_id, event.tasktoken, [])
    outputs = services.tasks.outputs_of([task])[task.id]
    message = [output_dict(o, task, services.settings.base_url) for o in outputs]
    return Event(event.type, event.task_id, event.tasktoken, message)


@router.websocket("/v1")
async def socket(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    await websocket.accept()
    await websocket.send_json({"type": "connected", "version": "1.0"})
    queue: asyncio.Queue[Event] = asyncio.Queue(1000)
    tokens: set[str] = set()
    sender = asyncio.create_task(_forward(websocket, queue, services))
    try:
        while True:
            message = await _receive(websocket, queue)
            if not isinstance(message, dict) or message.get("type") != "task_info":
                continue
            raw = message.get("tasktoken")
            tasktoken = raw if isinstance(raw, str) else ""
            if tasktoken in tokens:
                continue
            if len(tokens) >= MAX_SUBSCRIPTIONS:
                note = f"at most {MAX_SUBSCRIPTIONS} subscriptions per connection"
                await queue.put(Event("task_error", 0, tasktoken, note))
                continue
            if not token_ok(tasktoken):  # a token no task has: no query for it
                await queue.put(Event("task_error", 0, "", "There is no task yet."))
                continue
            task = await run_in_threadpool(services.tasks.by_token, tasktoken)
            if task is None:
                await queue.put(Event("task_error", 0, tasktoken, "There is no task yet."))
                continue
            tokens.add(tasktoken)
            services.hub.subscribe(tasktoken, queue)
            fresh = await run_in_threadpool(services.tasks.by_token, tasktoken)
            await queue.put(current_event(services, fresh or task))
    except WebSocketDisconnect:
        pass
    finally:
        for tasktoken in tokens:
            services.hub.unsubscribe(tasktoken, queue)
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender


async def _receive(websocket: WebSocket, queue: asyncio.Queue[Event]) -> Any:
    """The next frame as JSON; None (after an error frame) for a binary frame or a text that is
    not JSON or nests too deep. A disconnect raises WebSocketDisconnect."""
    frame = await websocket.receive()
    if frame["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(frame.get("code", 1000))
    text = frame.get("text")
    if text is None:
        note = 'binary frames are not read; send JSON text such as {"type":"task_info",...}'
        await queue.put(Event("task_error", 0, "", note))
        return None
    try:
        return load_json(text)
    except InputError as exc:  # "Request body is not valid JSON" → "The frame is ..."
        await queue.put(
            Event("task_error", 0, "", exc.message.replace("Request body", "The frame"))
        )
        return None


async def _forward(websocket: WebSocket, queue: asyncio.Queue[Event], services: Services) -> None:
    """Send events in order, never a lifecycle status older than one already sent for a task.
    A success's event carries no message: its outputs are read here, in Wiro's format."""
    sent_rank: dict[str, int] = {}
    while True:
        event = await queue.get()
        if event.type == Status.postprocess_end.value and event.message is None:
            event = await run_in_threadpool(_with_outputs, services, event)
        if event.type in _STATUSES:
            status = Status(event.type)
            last = sent_rank.get(event.tasktoken, -1)
            if status != Status.output and status.rank <= last:
                continue
            sent_rank[event.tasktoken] = max(last, status.rank)
        try:
            await websocket.send_json(event.frame())
        except Exception:
            return
