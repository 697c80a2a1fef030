"""Replicate's webhooks: the prediction, POSTed when it completes, signed as Replicate signs them.

Replicate signs with Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`:
`v1,` + base64 HMAC-SHA256 of `id.timestamp.body` under the `whsec_` secret of
GET /v1/webhooks/default/secret), which is what the deliverer of tasks/callbacks.py does: a
delivery is recorded when the task ends, and the deliverer renders the prediction by this
dialect's rule (`ReplicateWebhook`) and sends it with its retries, leases and per-host limits.
The delivery table keeps one delivery per task, so of webhook_events_filter's
events only `completed` is sent (`start`, `output` and `logs` are accepted and not sent).
"""

from __future__ import annotations

import json

from subject2video.api.replicate.wire import prediction
from subject2video.config import Settings
from subject2video.tasks.callbacks import webhook_secret_key
from subject2video.tasks.keyring import Keyring
from subject2video.tasks.models import Output, Project, Task


class ReplicateWebhook:
    """The CallbackRule of the Replicate dialect's predictions (tasks/callbacks.py): the
    prediction, signed with the project's `whsec_` secret."""

    def body(self, task: Task, outputs: list[Output], settings: Settings) -> str:
        base = settings.base_url
        return json.dumps(prediction(task, outputs, base, base), separators=(",", ":"))

    def key(self, project: Project, keyring: Keyring) -> bytes:
        return webhook_secret_key(project)
