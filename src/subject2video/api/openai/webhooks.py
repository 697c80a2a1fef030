"""OpenAI-dialect webhooks: `video.completed` and `video.failed` events, per Standard Webhooks.

A project made with `s2v keys create --webhook-url URL` gets a `whsec_` secret; every video its
OpenAI-dialect requests make carries the URL (the task's callbackurl), and when the video ends an
event is sent by the same durable deliverer as Wiro's callbacks (tasks/callbacks.py: retries
with backoff, one process at a time, none lost to a restart; `OpenAIWebhook` is its rule), signed
with the project's secret as OpenAI's SDK checks it (`client.webhooks.unwrap`):

    {"id": "evt_…", "object": "event", "created_at": 1764650000, "type": "video.completed",
     "data": {"id": "video_42"}}
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from subject2video.config import Settings
from subject2video.tasks.callbacks import webhook_secret_key
from subject2video.tasks.keyring import Keyring
from subject2video.tasks.models import Output, Project, Task
from subject2video.tasks.status import Outcome
from subject2video.tasks.store import token

logger = logging.getLogger(__name__)

DIALECT = "openai"


def event_body(task: Any, event_id: str, now: float) -> dict[str, Any]:
    """The event for a final task: completed (pexit 0) or failed (an error, or killed)."""
    kind = "video.completed" if Outcome.of(task) == Outcome.succeeded else "video.failed"
    return {
        "id": event_id,
        "object": "event",
        "created_at": int(now),
        "type": kind,
        "data": {"id": f"video_{task.id}"},
    }


class OpenAIWebhook:
    """The CallbackRule of the OpenAI dialect's videos (tasks/callbacks.py)."""

    def body(self, task: Task, outputs: list[Output], settings: Settings) -> str:
        event = event_body(task, f"evt_{token(24)}", time.time())
        return json.dumps(event, separators=(",", ":"))

    def key(self, project: Project, keyring: Keyring) -> bytes:
        return signing_key(project, keyring)


def signing_key(project: Project | None, keyring: Keyring | None = None) -> bytes:
    """The HMAC key of a project's `whsec_` secret (its base64 part, decoded; opened with
    `keyring` where it is sealed)."""
    return webhook_secret_key(project, keyring)
