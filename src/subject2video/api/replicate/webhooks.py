"""Replicate's webhooks: the prediction, POSTed at the events it asked for, signed as Replicate
signs them.

`webhook_events_filter` picks among `start` (the prediction was created), `logs` (it has log
lines: sent once, at its first progress line), `output` (it has its output: when it succeeds) and
`completed` (it ended: succeeded, failed or canceled); without a filter, `output`, `logs` and
`completed` are sent, and `webhook_completed` gets `completed` alone. Each is the prediction as GET
/v1/predictions/{id} shows it at that moment.

Replicate signs with Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`:
`v1,` + base64 HMAC-SHA256 of `id.timestamp.body` under the `whsec_` secret of
GET /v1/webhooks/default/secret), which is what the deliverer of tasks/callbacks.py does: each event
is recorded as a delivery row (one per prediction and event) and sent with its retries, leases and
per-host limits. The dialect registers `record` as its final webhook (`callbacks.
register_final_webhook`), so a prediction that ended while no API process was there to record it
(a crash, or a scale-out worker finishing while the API was down) is recorded at the next start.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

from subject2video.api.deps import Services
from subject2video.api.replicate.models import DIALECT
from subject2video.api.replicate.wire import prediction
from subject2video.config import Settings
from subject2video.tasks import callbacks
from subject2video.tasks.events import Event
from subject2video.tasks.models import COMPLETED, Delivery, Task
from subject2video.tasks.status import FINAL, Status
from subject2video.tasks.store import Store, token

logger = logging.getLogger(__name__)

_FINAL = {s.value for s in FINAL}
#: The statuses that announce an event before the end: created (`start`), a progress line (`logs`).
_ANNOUNCED = {Status.queue.value, Status.output.value}
START, LOGS, OUTPUT = "start", "logs", "output"


def wanted(task: Task) -> tuple[str, ...]:
    """The events `task`'s webhook asked for (a task from before filters were kept: completed)."""
    if task.callback_events is None:
        return (COMPLETED,)
    return tuple(e for e in task.callback_events.split(",") if e)


def record_event(store: Store, settings: Settings, task: Task, event: str, due: float) -> bool:
    """Record `event`'s webhook of a Replicate-dialect task if it asked for it; idempotent (one
    per prediction and event)."""
    if event not in wanted(task):
        return False
    outputs = store.outputs([task.id])[task.id]
    base = settings.base_url
    body = prediction(task, outputs, base, base)
    delivery = Delivery(
        id=f"msg_{token(27)}",
        task_id=task.id,
        event=event,
        url=task.callbackurl,
        body=json.dumps(body, separators=(",", ":")),
        due=due,
    )
    created = store.add_delivery(delivery)
    if created:
        extra = {
            "task_id": task.id,
            "webhook_id": delivery.id,
            "event": event,
            "status": body["status"],
        }
        logger.info("Replicate webhook queued", extra=extra)
    return created


def record(store: Store, settings: Settings, task: Task) -> bool:
    """The webhooks of a final prediction: `output` (when it succeeded), then `completed`."""
    now = time.time()
    made = False
    if task.pexit == "0" and task.status == Status.postprocess_end.value:
        made = record_event(store, settings, task, OUTPUT, now)
    return record_event(store, settings, task, COMPLETED, now + 0.001) or made


callbacks.sign_with_webhook_secret(DIALECT)
# Durable: recorded when the prediction ends, and after a restart for any a crash left unrecorded.
callbacks.register_final_webhook(DIALECT, record)


def on_status(services: Services, task_id: int, status: str) -> bool:
    """Record the webhooks a status of a Replicate-dialect task with a webhook calls for."""
    task = services.store.get(task_id)
    if task is None or task.callback_dialect != DIALECT or not task.callbackurl:
        return False
    if status in _FINAL:
        return record(services.store, services.settings, task)
    event = START if status == Status.queue.value else LOGS
    return record_event(services.store, services.settings, task, event, time.time())


def listener(services: Services) -> callbacks.EventListener:
    """A hub listener that records the webhooks of Replicate-dialect tasks as their statuses
    come: created (`start`), progress (`logs`), final (`output`, `completed`)."""

    def on_event(event: Event) -> None:
        if event.type in _FINAL or event.type in _ANNOUNCED:
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(None, on_status, services, event.task_id, event.type)
            future.add_done_callback(_log_failure)

    return on_event


def _log_failure(future: asyncio.Future[bool]) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.error("Replicate webhook not recorded", exc_info=future.exception())
