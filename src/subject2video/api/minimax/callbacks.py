"""MiniMax-style callbacks: a challenge handshake, then the query body on each status change.

The first time a MiniMax-dialect task with a callback_url shows up (its task_queue event), its
receiver is sent `{"challenge": "<random>"}` and must answer with the same JSON within 3 s;
otherwise the task gets no further callbacks. After a good answer, each change of the task's
MiniMax status (Queueing, Preparing, Processing, Success, Fail) is POSTed as the query body,
retried a few times with a short backoff. Every POST goes through the guarded fetcher.

Events arrive on the API's event loop; the listener only queues them. A dispatcher thread hands
each task's events, one at a time and in order, to a pool of delivery threads, under the limits
every dialect's callbacks share (tasks/callbacks.py `CallbackLimits`: per receiver, per
project), so a slow receiver holds up only its own project's callbacks. The handshake outcome
and the last status sent are kept in memory, not in the store: after a restart a task's next
event starts with a new handshake, and a callback may be repeated or lost across a restart (not
exactly-once). Every API process that receives a task's events delivers them, so with several API
replicas run this on one of them.
"""

from __future__ import annotations

import json
import logging
import queue
import secrets
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from subject2video.config import Settings
from subject2video.errors import FetchError, StorageError
from subject2video.media.fetch import FetchPolicy, post, post_reading
from subject2video.tasks.callbacks import LIMITS, MAX_IN_FLIGHT, CallbackLimits, Slot
from subject2video.tasks.events import Event
from subject2video.tasks.models import Output, Task
from subject2video.tasks.status import Status
from subject2video.tasks.store import Store

logger = logging.getLogger(__name__)

DIALECT = "minimax"
CHALLENGE_TIMEOUT_SECONDS = 3.0
RETRY_DELAYS = (0.5, 1.0, 2.0)
#: How many finished tasks are remembered, so that a late event does not start a new handshake.
FINISHED_KEPT = 10_000
HEADERS = {"content-type": "application/json", "user-agent": "subject2video-minimax-callbacks/1"}

#: Renders the query body of a task at a status: (task, outputs, status) -> body.
Render = Callable[[Task, Sequence[Output], str], dict[str, Any]]


@dataclass
class _Receiver:
    """What is known of one task's receiver."""

    accepted: bool
    last_status: str = ""


class MinimaxCallbacks:
    """Delivers MiniMax-dialect callbacks from background threads, fed by hub events."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        render: Render,
        *,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        limits: CallbackLimits = LIMITS,
    ) -> None:
        self.settings = settings
        self.store = store
        self.render = render
        self.retry_delays = tuple(retry_delays)
        self.policy = FetchPolicy.from_settings(settings)
        self.limits = limits
        #: Events from the event loop (None: wake up, a delivery ended or a stop).
        self._inbox: queue.Queue[tuple[int, str] | None] = queue.Queue()
        self._receivers: dict[int, _Receiver] = {}
        self._finished: OrderedDict[int, None] = OrderedDict()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(MAX_IN_FLIGHT, thread_name_prefix="s2v-minimax-callback")

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._dispatch, name="s2v-minimax-callbacks", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._inbox.put(None)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def on_event(self, event: Event) -> None:
        """Queue a status event (called on the event loop: never blocks)."""
        if event.type in (Status.output.value, "task_error"):
            return  # progress and log lines never change the MiniMax status
        self._inbox.put((event.task_id, event.type))

    def _dispatch(self) -> None:
        """Hand each task's next event to the pool when its receiver and project have room; a
        task runs one event at a time, so its callbacks keep their order."""
        pending: dict[int, deque[str]] = {}  # by task, in arrival order of their first event
        running: set[int] = set()
        targets: dict[int, tuple[str, int] | None] = {}
        while not self._stop.is_set():
            items = [self._poll(0.1 if pending else 1.0)]
            while not self._inbox.empty():
                items.append(self._inbox.get_nowait())
            for item in items:
                if item is not None:
                    pending.setdefault(item[0], deque()).append(item[1])
            for task_id in list(pending):
                if task_id in running:
                    continue
                if task_id not in targets:
                    targets[task_id] = self._target(task_id)
                target = targets[task_id]
                if target is None:  # not a MiniMax task with a receiver: nothing to send
                    del pending[task_id]
                    continue
                slot = self.limits.acquire(*target)
                if slot is None:
                    continue  # its receiver or project is busy: it waits, nobody else does
                status = pending[task_id].popleft()
                if not pending[task_id]:
                    del pending[task_id]
                running.add(task_id)
                self._pool.submit(self._run, task_id, status, slot, running)
            if len(targets) > FINISHED_KEPT:
                targets = {t: v for t, v in targets.items() if t in pending or t in running}

    def _poll(self, timeout: float) -> tuple[int, str] | None:
        try:
            return self._inbox.get(timeout=timeout)
        except queue.Empty:
            return None

    def _target(self, task_id: int) -> tuple[str, int] | None:
        task = self.store.get(task_id)
        if task is None or task.callback_dialect != DIALECT or not task.callbackurl:
            return None
        return task.callbackurl, task.project_id

    def _run(self, task_id: int, status: str, slot: Slot, running: set[int]) -> None:
        try:
            self.handle(task_id, status)
        except StorageError as exc:
            logger.warning("MiniMax callback lost: %s", exc.message, extra={"task_id": task_id})
        except Exception:
            logger.exception("MiniMax callback failed", extra={"task_id": task_id})
        finally:
            self.limits.release(slot)
            running.discard(task_id)
            self._inbox.put(None)  # wake the dispatcher: this task and receiver have room

    def handle(self, task_id: int, status: str) -> None:
        """Deliver what one status event means to a MiniMax-dialect task's receiver."""
        with self._lock:
            if task_id in self._finished:
                return
        task = self.store.get(task_id)
        if task is None or task.callback_dialect != DIALECT or not task.callbackurl:
            return
        receiver = self._receivers.get(task_id)
        if receiver is None:
            receiver = self._receivers[task_id] = _Receiver(accepted=self._handshake(task))
        if receiver.accepted:
            outputs = self.store.outputs([task_id])[task_id]
            body = self.render(task, outputs, status)
            if body["status"] != receiver.last_status:
                receiver.last_status = body["status"]
                self._send(task, body)
        if Status(status).is_final:
            self._receivers.pop(task_id, None)
            with self._lock:
                self._finished[task_id] = None
                while len(self._finished) > FINISHED_KEPT:
                    self._finished.popitem(last=False)

    def _handshake(self, task: Task) -> bool:
        """POST a challenge; True if the receiver echoed it within the time allowed."""
        challenge = secrets.token_urlsafe(24)
        extra = {"task_id": task.id}
        try:
            status, answer = post_reading(
                task.callbackurl,
                json.dumps({"challenge": challenge}).encode(),
                HEADERS,
                self.policy,
                timeout=CHALLENGE_TIMEOUT_SECONDS,
            )
        except FetchError as exc:
            logger.info("MiniMax callback challenge failed: %s", exc.message, extra=extra)
            return False
        accepted = 200 <= status < 300 and _echoed(answer, challenge)
        outcome = "echoed" if accepted else "refused"
        logger.info("MiniMax callback challenge %s", outcome, extra=extra)
        return accepted

    def _send(self, task: Task, body: dict[str, Any]) -> None:
        data = json.dumps(body, separators=(",", ":")).encode()
        extra = {"task_id": task.id, "status": body["status"]}
        error = ""
        for delay in (0.0, *self.retry_delays):
            if delay and self._stop.wait(delay):
                return
            try:
                status = post(
                    task.callbackurl,
                    data,
                    HEADERS,
                    self.policy,
                    timeout=self.settings.callback_timeout_seconds,
                )
            except FetchError as exc:
                error = exc.message
                continue
            if 200 <= status < 300:
                logger.info("MiniMax callback delivered", extra=extra)
                return
            error = f"receiver answered HTTP {status}"
        logger.warning("MiniMax callback given up: %s", error, extra=extra)


def _echoed(answer: bytes, challenge: str) -> bool:
    try:
        data = json.loads(answer)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("challenge") == challenge
