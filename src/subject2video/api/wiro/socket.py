"""WebSocket `/v1`: live task events keyed by socket access token.

Hello frame on connect; `{"type":"task_info","tasktoken":...}` subscribes (several per connection);
the task's current status is sent at once, then every later event in order.

Events are published under the digest of a task's token (the store and the bus never hold the
token itself); a connection subscribes under the digest of each token it presents and writes the
token back into the frames it sends.

A revoked project's tasks cannot be subscribed to, and when a project is revoked its open
subscriptions end: each gets a `task_error` frame, and a connection left with none is closed (1008).
A connection notices a key change as the API does (the data directory's stamp, or the `s2v:keys`
channel in scale-out) within `WATCH_SECONDS`, and checks anyway every `auth.CACHE_SECONDS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from subject2video.api.auth import CACHE_SECONDS
from subject2video.api.deps import Services
from subject2video.api.files import OutputLinks
from subject2video.api.wiro.wire import output_dict
from subject2video.contract import load_json, token_ok
from subject2video.errors import InputError
from subject2video.tasks.events import Event
from subject2video.tasks.models import Task
from subject2video.tasks.status import Status
from subject2video.tasks.store import token_digest

logger = logging.getLogger(__name__)
router = APIRouter()

MAX_SUBSCRIPTIONS = 100
#: How often an open connection looks for key changes (one stat of the stamp).
WATCH_SECONDS = 0.5
REVOKED = "This task's project was revoked: its subscriptions are closed."
#: Put on a connection's queue to close it once the frames before it are sent.
_CLOSE = "_close"
_STATUSES = frozenset(s.value for s in Status)


def current_event(services: Services, task: Task) -> Event:
    """The event that describes where `task` is now."""
    message: Any = None
    if task.status == Status.output.value:
        message = task.progress
    elif task.status == Status.postprocess_end.value:
        outputs = services.tasks.outputs_of([task])[task.id]
        links = OutputLinks.of(services)
        message = [output_dict(o, task, links) for o in outputs]
    return Event(task.status, task.id, task.token_digest, message)


def _with_outputs(services: Services, event: Event) -> Event:
    task = services.tasks.by_token_digest(event.tasktoken)
    if task is None:
        return Event(event.type, event.task_id, event.tasktoken, [])
    outputs = services.tasks.outputs_of([task])[task.id]
    links = OutputLinks.of(services)
    message = [output_dict(o, task, links) for o in outputs]
    return Event(event.type, event.task_id, event.tasktoken, message)


@router.websocket("/v1")
async def socket(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    await websocket.accept()
    await websocket.send_json({"type": "connected", "version": "1.0"})
    queue: asyncio.Queue[Event] = asyncio.Queue(1000)
    tokens: set[str] = set()
    #: The project of each subscribed token, watched for revocation.
    owners: dict[str, int] = {}
    #: The token (as presented) under each digest subscribed to, for the frames sent.
    clear: dict[str, str] = {}
    sender = asyncio.create_task(_forward(websocket, queue, services, clear))
    watcher = asyncio.create_task(_watch_revocations(services, queue, tokens, owners))
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
            if await run_in_threadpool(_revoked, services, {task.project_id}):
                await queue.put(Event("task_error", 0, tasktoken, REVOKED))
                continue
            tokens.add(tasktoken)
            owners[tasktoken] = task.project_id
            clear[task.token_digest] = tasktoken
            services.hub.subscribe(task.token_digest, queue)
            fresh = await run_in_threadpool(services.tasks.by_token, tasktoken)
            await queue.put(current_event(services, fresh or task))
    except WebSocketDisconnect:
        pass
    finally:
        for tasktoken in tokens:
            services.hub.unsubscribe(token_digest(tasktoken), queue)
        for task in (watcher, sender):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _revoked(services: Services, project_ids: set[int]) -> set[int]:
    """Which of these projects are revoked (or gone)."""
    found = set()
    for project_id in project_ids:
        project = services.tasks.project(project_id)
        if project is None or project.revokedtime is not None:
            found.add(project_id)
    return found


async def _watch_revocations(
    services: Services, queue: asyncio.Queue[Event], tokens: set[str], owners: dict[str, int]
) -> None:
    """End the subscriptions of a project that is revoked while the connection is open."""
    seen = services.auth.generation()
    checked = time.monotonic()
    while True:
        await asyncio.sleep(WATCH_SECONDS)
        generation = services.auth.generation()
        if generation == seen and time.monotonic() - checked < CACHE_SECONDS:
            continue
        seen, checked = generation, time.monotonic()
        if not owners:
            continue
        revoked = await run_in_threadpool(_revoked, services, set(owners.values()))
        ended = [token for token, project_id in owners.items() if project_id in revoked]
        for tasktoken in ended:
            del owners[tasktoken]
            tokens.discard(tasktoken)
            services.hub.unsubscribe(token_digest(tasktoken), queue)
            await queue.put(Event("task_error", 0, tasktoken, REVOKED))
        if ended:
            logger.info("websocket subscriptions of a revoked project ended: %d", len(ended))
        if ended and not tokens:
            await queue.put(Event(_CLOSE, 0, "", REVOKED))
            return


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


async def _forward(
    websocket: WebSocket, queue: asyncio.Queue[Event], services: Services, clear: dict[str, str]
) -> None:
    """Send events in order, never a lifecycle status older than one already sent for a task.
    A success's event carries no message: its outputs are read here, in Wiro's format. A task's
    events name it by its token's digest; the frame names it by the token (`clear`)."""
    sent_rank: dict[str, int] = {}
    while True:
        event = await queue.get()
        if event.type == _CLOSE:
            with contextlib.suppress(Exception):
                await websocket.close(code=1008, reason="project revoked")
            return
        if event.type == Status.postprocess_end.value and event.message is None:
            event = await run_in_threadpool(_with_outputs, services, event)
        if event.type in _STATUSES:
            status = Status(event.type)
            last = sent_rank.get(event.tasktoken, -1)
            if status != Status.output and status.rank <= last:
                continue
            sent_rank[event.tasktoken] = max(last, status.rank)
        if event.tasktoken in clear:
            event = Event(event.type, event.task_id, clear[event.tasktoken], event.message)
        try:
            await websocket.send_json(event.frame())
        except Exception:
            return
