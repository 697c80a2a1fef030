"""Wiro's callback: the final task's Detail body, signed with the project's secret (or, for a
key-only project, its key)."""

from __future__ import annotations

import json

from subject2video.api.files import OutputLinks
from subject2video.api.wiro.wire import task_dict
from subject2video.config import Settings
from subject2video.tasks.keyring import Keyring
from subject2video.tasks.models import Output, Project, Task


class WiroCallback:
    """The CallbackRule of the tasks Wiro's Run makes (tasks/callbacks.py)."""

    def body(self, task: Task, outputs: list[Output], settings: Settings) -> str:
        keyring = Keyring.from_settings(settings)
        token = keyring.open(task.socketaccesstoken) or ""
        links = OutputLinks.opened_by(settings.base_url, keyring)
        price = settings.price_per_second
        detail = {
            "total": "1",
            "errors": [],
            "tasklist": [task_dict(task, outputs, links, price, token=token)],
            "result": True,
        }
        return json.dumps(detail, separators=(",", ":"))

    def key(self, project: Project, keyring: Keyring) -> str | bytes:
        return keyring.open(project.apisecret) or project.apikey
