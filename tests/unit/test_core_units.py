"""Pure pieces of the core: signatures, body parsing, the status machine, the store's CAS."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import pytest

from subject2video.api.auth import signature, signature_hex
from subject2video.api.body import parse_text_body
from subject2video.api.errors import ApiError
from subject2video.config import Settings
from subject2video.tasks.callbacks import enqueue, sign
from subject2video.tasks.status import CANCELLABLE, FINAL, ORDER, RUNNING, Status
from subject2video.tasks.store import ActiveLimitReached, Store


def test_signature_matches_the_documented_recipe() -> None:
    # echo -n "${SECRET}${NONCE}" | openssl dgst -sha256 -hmac "${KEY}"
    expected = hmac.new(b"key", b"secret123", hashlib.sha256).hexdigest()
    assert signature("key", "secret", "123") == expected


@pytest.mark.parametrize(
    "header",
    ["ABCDEF", "abcdef", "SHA2-256(stdin)= abcdef", "(stdin)= abcdef", "  abcdef \n"],
)
def test_signature_header_forms(header: str) -> None:
    assert signature_hex(header) == "abcdef"


def test_webhook_signature_is_standard_webhooks() -> None:
    body = '{"a":1}'
    digest = hmac.new(b"s3cret", b"msg_1.1700000000." + body.encode(), hashlib.sha256).digest()
    assert sign("s3cret", "msg_1", 1700000000, body) == "v1," + base64.b64encode(digest).decode()


def test_text_bodies() -> None:
    assert parse_text_body(b'{"taskid": 12, "x": ""}', "multipart/form-data") == {"taskid": "12"}
    assert parse_text_body(b"taskid=3&prompt=a+b", "application/x-www-form-urlencoded") == {
        "taskid": "3",
        "prompt": "a b",
    }
    with pytest.raises(ApiError):
        parse_text_body(b"{broken", "application/json")
    with pytest.raises(ApiError):
        parse_text_body(b"[1, 2]", "application/json")


def test_status_machine_order() -> None:
    assert ORDER[0] is Status.queue and ORDER[-1] is Status.cancel
    assert {Status.postprocess_end, Status.cancel} == FINAL
    assert {Status.queue, Status.accept} == CANCELLABLE
    assert Status.queue not in RUNNING and not (RUNNING & FINAL)
    assert Status.start.rank < Status.output.rank < Status.postprocess_end.rank


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    store.create_schema()
    return store


def _task(store: Store, project_id: int, limit: int = 10) -> int:
    task = store.create_task(
        project_id=project_id,
        max_active=limit,
        modelslugowner="MiniMax",
        modelslugproject="m",
        engine="camera",
        parameters={},
        callbackurl="",
        input_path="inputs/stored",
    )
    return task.id


def test_claim_is_compare_and_set(store: Store) -> None:
    project = store.create_project("p")
    task_id = _task(store, project.id)
    first = store.claim(task_id, "w1")
    assert first is not None and first.status == Status.accept.value and first.attempts == 1
    assert store.claim(task_id, "w2") is None  # a redelivered message finds it taken
    # Only the claim's holder moves it on.
    assert not store.transition(
        task_id, Status.preprocess_start, allowed_from=[Status.accept], holder="other"
    )
    assert store.transition(
        task_id, Status.preprocess_start, allowed_from=[Status.accept], holder=first.claim
    )


def test_active_limit_and_isolation(store: Store) -> None:
    mine, theirs = store.create_project("a"), store.create_project("b", key_only=True)
    assert theirs.apisecret is None and len(mine.apikey) == 32
    ids = [_task(store, mine.id, limit=2) for _ in range(2)]
    with pytest.raises(ActiveLimitReached):
        _task(store, mine.id, limit=2)
    _task(store, theirs.id, limit=2)  # another project's limit is its own
    assert store.find(theirs.id, task_id=ids[0]) is None
    found = store.find(mine.id, task_id=ids[0])
    assert found is not None and found.id == ids[0]


def test_strict_nonces_once(store: Store) -> None:
    assert store.use_nonce("k", "1", keep_seconds=600)
    assert not store.use_nonce("k", "1", keep_seconds=600)
    assert store.use_nonce("other", "1", keep_seconds=600)


def test_final_tasks_without_a_recorded_callback_are_found(store: Store) -> None:
    project = store.create_project("p")
    task = store.create_task(
        project_id=project.id,
        max_active=10,
        modelslugowner="MiniMax",
        modelslugproject="m",
        engine="camera",
        parameters={},
        callbackurl="http://example.com/hook",
    )
    assert store.undelivered_final_tasks() == []  # not final yet
    store.transition(task.id, Status.cancel, allowed_from=[Status.queue])
    assert store.undelivered_final_tasks() == [task.id]
    settings = Settings(data_dir=Path(store.engine.url.database).parent)
    assert enqueue(store, settings, task.id)
    assert not enqueue(store, settings, task.id)  # one delivery per task
    assert store.undelivered_final_tasks() == []
