"""Replicate's webhooks: the prediction, POSTed at the events it asked for, signed as Replicate
signs them.

`webhook_events_filter` picks among `start` (the prediction was created), `logs` (it has log
lines: sent once, at its first progress line), `output` (it has its output: when it succeeds) and
`completed` (it ended: succeeded, failed or canceled); without a filter, `output`, `logs` and
`completed` are sent, and `webhook_completed` gets `completed` alone (request.py). Each is the
prediction as GET /v1/predictions/{id} shows it at that moment.

Replicate signs with Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`:
`v1,` + base64 HMAC-SHA256 of `id.timestamp.body` under the `whsec_` secret of
GET /v1/webhooks/default/secret), which is what the deliverer of tasks/callbacks.py does. Every
event is a delivery row (one per prediction and event), sent with its retries, leases and per-host
limits:
- `completed` is recorded by the task system when the task ends, like every dialect's final
  callback, and rendered by this dialect's rule (`ReplicateWebhook`) when it is first sent; a
  crash between the end and the record is caught up at the next start;
- `start`, `logs` and `output` are recorded by `ReplicateEvents`, a hub listener in the API
  process, rendered at once (the prediction at that moment).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from typing import Any

from subject2video.api.files import OutputLinks
from subject2video.api.replicate.wire import prediction
from subject2video.config import Settings
from subject2video.tasks.callbacks import webhook_secret_key
from subject2video.tasks.events import Event
from subject2video.tasks.keyring import Keyring
from subject2video.tasks.models import COMPLETED, Delivery, Output, Project, Task
from subject2video.tasks.status import Outcome, Status
from subject2video.tasks.store import Store, token

logger = logging.getLogger(__name__)

START, LOGS, OUTPUT = "start", "logs", "output"
#: How many (task, event) pairs the listener remembers having handled.
SEEN_MAX = 10_000
#: The statuses that announce an event before the end: created (`start`), a progress line (`logs`),
#: and the success that brings the output (`output`).
_ANNOUNCED = {Status.queue.value: START, Status.output.value: LOGS}


def wanted(task: Any) -> tuple[str, ...]:
    """The events `task`'s webhook asked for (a task from before filters were kept: completed)."""
    if task.callback_events is None:
        return (COMPLETED,)
    return tuple(e for e in task.callback_events.split(",") if e)


def _body(task: Any, outputs: list[Output], settings: Settings, shown: str | None = None) -> str:
    base = settings.base_url
    links = OutputLinks.opened_by(base, Keyring.from_settings(settings))
    return json.dumps(prediction(task, outputs, links, base, shown), separators=(",", ":"))


class ReplicateWebhook:
    """The CallbackRule of the Replicate dialect's predictions (tasks/callbacks.py): the
    prediction, signed with the project's `whsec_` secret; nothing when the filter left
    `completed` out."""

    def body(self, task: Task, outputs: list[Output], settings: Settings) -> str | None:
        return _body(task, outputs, settings) if COMPLETED in wanted(task) else None

    def key(self, project: Project, keyring: Keyring) -> bytes:
        return webhook_secret_key(project, keyring)


def record_event(store: Store, settings: Settings, task_id: int, event: str) -> bool:
    """Record `event`'s webhook of a Replicate-dialect prediction that asked for it, rendered now;
    idempotent (one per prediction and event). `start` is the prediction as it was created,
    `starting`, as Replicate sends it: rendered off the loop after the event, it read
    `processing` where a worker had already taken the task."""
    task = store.get(task_id)
    if task is None or not task.callbackurl or event not in wanted(task):
        return False
    if event == OUTPUT and Outcome.of(task) != Outcome.succeeded:
        return False
    outputs = store.outputs([task.id])[task.id]
    delivery = Delivery(
        id=f"msg_{token(27)}",
        task_id=task.id,
        event=event,
        url=task.callbackurl,
        # Sealed at rest like every rendered callback body (the deliverer opens it).
        body=Keyring.from_settings(settings).seal(
            _body(task, outputs, settings, "starting" if event == START else None)
        )
        or "",
        due=time.time(),
    )
    created = store.add_delivery(delivery)
    if created:
        logger.info(
            "Replicate webhook queued",
            extra={"task_id": task.id, "webhook_id": delivery.id, "event": event},
        )
    return created


class ReplicateEvents:
    """The `start`, `logs` and `output` webhooks, recorded from the hub's events (off the loop).

    A task's progress lines come many times; the store is asked once per task and event, and
    once per task that is not a Replicate prediction with a webhook (a bounded memory of both)."""

    def __init__(self, services: Any, dialect: str) -> None:
        self.services = services
        self.dialect = dialect
        self._stopped = False
        self._seen: OrderedDict[tuple[int, str], None] = OrderedDict()

    def on_event(self, event: Event) -> None:
        if self._stopped:
            return
        name = _ANNOUNCED.get(event.type)
        if event.type == Status.postprocess_end.value:  # the end, with or without the video
            name = OUTPUT
        if name is None or not self._first(event.task_id, name):
            return
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(None, self._record, event.task_id, name, loop)
        future.add_done_callback(_log_failure)

    def _first(self, task_id: int, name: str) -> bool:
        """Whether (task, event), or a task known to send no webhooks, is new here."""
        if (task_id, name) in self._seen or (task_id, "") in self._seen:
            return False
        self._remember(task_id, name)
        return True

    def _remember(self, task_id: int, name: str) -> None:
        self._seen[(task_id, name)] = None
        while len(self._seen) > SEEN_MAX:
            self._seen.popitem(last=False)

    def _record(self, task_id: int, event: str, loop: asyncio.AbstractEventLoop) -> bool:
        task = self.services.store.get(task_id)
        if task is None or task.callback_dialect != self.dialect or not task.callbackurl:
            loop.call_soon_threadsafe(self._remember, task_id, "")  # the memory is the loop's
            return False
        return record_event(self.services.store, self.services.settings, task_id, event)

    def stop(self) -> None:
        self._stopped = True


def _log_failure(future: asyncio.Future[bool]) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.error("Replicate webhook not recorded", exc_info=future.exception())
