"""OpenAI-dialect webhook events and their signatures, as OpenAI's SDK checks them."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest
from openai import OpenAI

from subject2video.api.openai.webhooks import event_body, signing_key
from subject2video.tasks.callbacks import sign
from subject2video.tasks.store import webhook_secret


@pytest.mark.parametrize(
    ("status", "pexit", "kind"),
    [
        ("task_postprocess_end", "0", "video.completed"),
        ("task_postprocess_end", "1", "video.failed"),
        ("task_cancel", None, "video.failed"),
    ],
)
def test_event_kinds(status: str, pexit: str | None, kind: str) -> None:
    task = SimpleNamespace(id=42, status=status, pexit=pexit)
    body = event_body(task, "evt_1", 1000.7)
    assert body == {
        "id": "evt_1",
        "object": "event",
        "created_at": 1000,
        "type": kind,
        "data": {"id": "video_42"},
    }


def test_signature_verifies_with_the_openai_sdk() -> None:
    secret = webhook_secret()
    assert secret.startswith("whsec_")
    project = SimpleNamespace(webhook_secret=secret)
    task = SimpleNamespace(id=7, status="task_postprocess_end", pexit="0")
    body = json.dumps(event_body(task, "evt_2", time.time()), separators=(",", ":"))
    now = int(time.time())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(now),
        "webhook-signature": sign(signing_key(project), "msg_1", now, body),  # type: ignore[arg-type]
    }
    client = OpenAI(api_key="unused", base_url="http://127.0.0.1:9")
    event = client.webhooks.unwrap(body, headers, secret=secret)
    assert event.type == "video.completed" and event.data.id == "video_7"
