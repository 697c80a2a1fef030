"""Replicate's webhooks: the prediction, POSTed when it completes, signed as Replicate signs them.

Replicate signs with Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`:
`v1,` + base64 HMAC-SHA256 of `id.timestamp.body` under the `whsec_` secret of
GET /v1/webhooks/default/secret), which is what the deliverer of tasks/callbacks.py does: the
prediction is recorded as a delivery row when the task ends and sent with its retries, leases and
per-host limits. The delivery table keeps one delivery per task, so of webhook_events_filter's
events only `completed` is sent (`start`, `output` and `logs` are accepted and not sent).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

from subject2video.api.deps import Services
from subject2video.api.replicate.models import DIALECT
from subject2video.api.replicate.wire import prediction
from subject2video.tasks import callbacks
from subject2video.tasks.events import Event
from subject2video.tasks.models import Delivery
from subject2video.tasks.status import FINAL
from subject2video.tasks.store import token

logger = logging.getLogger(__name__)

_FINAL = {s.value for s in FINAL}
callbacks.sign_with_webhook_secret(DIALECT)


def enqueue(services: Services, task_id: int) -> bool:
    """Record the `completed` webhook of a final Replicate-dialect task; idempotent (one a task)."""
    store = services.store
    task = store.get(task_id)
    if task is None or task.callback_dialect != DIALECT or not task.callbackurl:
        return False
    outputs = store.outputs([task.id])[task.id]
    base = services.settings.base_url
    body = prediction(task, outputs, base, base)
    delivery = Delivery(
        id=f"msg_{token(27)}",
        task_id=task.id,
        url=task.callbackurl,
        body=json.dumps(body, separators=(",", ":")),
        due=time.time(),
    )
    created = store.add_delivery(delivery)
    if created:
        extra = {"task_id": task.id, "webhook_id": delivery.id, "status": body["status"]}
        logger.info("Replicate webhook queued", extra=extra)
    return created


def listener(services: Services) -> callbacks.EventListener:
    """A hub listener that records the webhook of each Replicate-dialect task that ends."""

    def on_event(event: Event) -> None:
        if event.type in _FINAL:
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(None, enqueue, services, event.task_id)
            future.add_done_callback(_log_failure)

    return on_event


def _log_failure(future: asyncio.Future[bool]) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.error("Replicate webhook not recorded", exc_info=future.exception())
