"""OpenAI-dialect webhooks: `video.completed` and `video.failed` events, per Standard Webhooks.

A project made with `s2v keys create --webhook-url URL` gets a `whsec_` secret; every video its
OpenAI-dialect requests make carries the URL (the task's callbackurl), and when the video ends an
event is recorded as a delivery row and sent by the same durable deliverer as Wiro's callbacks
(tasks/callbacks.py: retries with backoff, one process at a time, none lost to a restart), signed
with the project's secret as OpenAI's SDK checks it (`client.webhooks.unwrap`):

    {"id": "evt_…", "object": "event", "created_at": 1764650000, "type": "video.completed",
     "data": {"id": "video_42"}}
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from typing import Any

from subject2video.tasks.models import Delivery
from subject2video.tasks.store import Store, token

logger = logging.getLogger(__name__)

DIALECT = "openai"


def event_body(task: Any, event_id: str, now: float) -> dict[str, Any]:
    """The event for a final task: completed (pexit 0) or failed (an error, or killed)."""
    kind = (
        "video.completed" if task.pexit == "0" and task.status != "task_cancel" else "video.failed"
    )
    return {
        "id": event_id,
        "object": "event",
        "created_at": int(now),
        "type": kind,
        "data": {"id": f"video_{task.id}"},
    }


def enqueue(store: Store, task: Any) -> bool:
    """Record the delivery of a final OpenAI-dialect task's event; idempotent (one per task)."""
    now = time.time()
    body = event_body(task, f"evt_{token(24)}", now)
    delivery = Delivery(
        id=f"msg_{token(27)}",
        task_id=task.id,
        url=task.callbackurl,
        body=json.dumps(body, separators=(",", ":")),
        due=now,
    )
    created = store.add_delivery(delivery)
    if created:
        extra = {"task_id": task.id, "webhook_id": delivery.id, "event": body["type"]}
        logger.info("webhook queued", extra=extra)
    return created


def signing_key(secret: str | None) -> bytes:
    """The HMAC key of a project's `whsec_` secret, opened (its base64 part, decoded)."""
    secret = secret or ""
    try:
        return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        return secret.encode()
