"""Task events: what the runner and the service announce, and the hub that fans them out.

The runner publishes through an `EventSink` (a queue to the API process in the embedded
deployment); the API process feeds every event into one `EventHub`, which the WebSocket route reads.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """One task event. `type` is a status value, or "task_error" for a log line of a failure."""

    type: str
    task_id: int
    #: The digest of the task's token (store.token_digest), never the token: the bus and the
    #: hub key events by it; the WebSocket writes the subscriber's token into its frames.
    tasktoken: str
    message: Any = None

    def frame(self) -> dict[str, Any]:
        """The WebSocket frame of the spec."""
        return {
            "type": self.type,
            "id": str(self.task_id),
            "tasktoken": self.tasktoken,
            "message": self.message,
            "result": True,
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        return cls(**data)


class EventSink(Protocol):
    def __call__(self, event: Event) -> None: ...


class EventHub:
    """Fans events out to WebSocket subscribers (by task token) and to in-process listeners."""

    def __init__(self, queue_size: int = 1000) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[Event]]] = defaultdict(set)
        self._listeners: list[Callable[[Event], None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue_size = queue_size

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def add_listener(self, listener: Callable[[Event], None]) -> None:
        """Call `listener` (in the event loop) for every event."""
        self._listeners.append(listener)

    def publish(self, event: Event) -> None:
        """Publish from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._dispatch(event)
        else:
            loop.call_soon_threadsafe(self._dispatch, event)

    def subscribe(
        self, tasktoken: str, queue: asyncio.Queue[Event] | None = None
    ) -> asyncio.Queue[Event]:
        """Deliver `tasktoken`'s events into `queue` (a new one if none is given)."""
        if queue is None:
            queue = asyncio.Queue(self._queue_size)
        self._subscribers[tasktoken].add(queue)
        return queue

    def unsubscribe(self, tasktoken: str, queue: asyncio.Queue[Event]) -> None:
        subscribers = self._subscribers.get(tasktoken)
        if subscribers is not None:
            subscribers.discard(queue)
            if not subscribers:
                del self._subscribers[tasktoken]

    def _dispatch(self, event: Event) -> None:
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                logger.exception("event listener failed", extra={"task_id": event.task_id})
        for queue in list(self._subscribers.get(event.tasktoken, ())):
            if queue.full():
                # A subscriber that does not read loses its oldest event instead of stalling others.
                queue.get_nowait()
            queue.put_nowait(event)
