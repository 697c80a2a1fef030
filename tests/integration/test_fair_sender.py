"""The scale-out dispatcher on the store against a real Redis and a real store: one replica at a
time holds the dispatch lease and sends round-robin across projects, one task per free worker
slot; when its holder dies without letting go, another takes the lease over once it lapses.

The broker's side is a recording `send` (Celery itself is run by tests/faults/test_fair_scaleout.py
with real `s2v worker` processes); it marks a task sent as `CeleryDispatcher._send` does."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from subject2video.tasks.bus import RedisBus
from subject2video.tasks.dispatch.celery import queue_name
from subject2video.tasks.dispatch.sender import LEASE_SECONDS, PASS_SECONDS, FairSender
from subject2video.tasks.status import Status
from subject2video.tasks.store import Store
from tests.faults.conftest import wait_for
from tests.unit.tasks.conftest import make_settings
from tests.utils.cluster import Redis, need_services


@pytest.fixture
def redis_url() -> Iterator[str]:
    need_services()
    redis = Redis().start()
    yield redis.url
    redis.stop()


def _queued(store: Store, project_id: int) -> int:
    task = store.create_task(
        project_id=project_id,
        max_active=50,
        modelslugowner="m",
        modelslugproject="p",
        engine="camera",
        parameters={},
        input_path="inputs/stored",
    )
    return task.id


def _run_to_end(store: Store, task_id: int) -> None:
    """What a worker does with a task it was sent: claim it, then end it."""
    assert store.claim(task_id, "w-1") is not None
    assert store.transition(task_id, Status.postprocess_end, allowed_from=[Status.accept])


def test_one_holder_sends_fairly_and_a_lapsed_lease_is_taken_over(
    tmp_path: Path, redis_url: str
) -> None:
    settings = make_settings(tmp_path / "data", broker_url=redis_url)
    settings.data_dir.mkdir(parents=True)
    store = Store(settings.db_url)
    store.create_schema()
    bus = RedisBus(redis_url)
    a, b = store.create_project("a").id, store.create_project("b").id
    backlog = [_queued(store, a) for _ in range(4)]
    newcomer = _queued(store, b)
    sent: list[tuple[str, int]] = []

    def send_as(name: str) -> Callable[[int, str], bool]:
        def send(task_id: int, _engine: str) -> bool:
            sent.append((name, task_id))
            bus.mark_sent(task_id, 600)
            return True

        return send

    bus.beat_slots("w-1", [queue_name("camera")], 1, 60)  # one worker, one slot
    first = FairSender(settings, store, bus, send_as("first"), queue_of=queue_name)
    second = FairSender(settings, store, bus, send_as("second"), queue_of=queue_name)
    try:
        first.start()
        wait_for("the first replica to send", lambda: sent, 5)
        second.start()
        time.sleep(2 * PASS_SECONDS)
        assert sent == [("first", backlog[0])], "one slot: one task in the broker"
        assert first.holding and not second.holding

        _run_to_end(store, backlog[0])
        second.wake()  # a replica that does not hold the lease wakes the one that does
        wait_for("the next send", lambda: len(sent) == 2, 5)
        assert sent[1] == ("first", newcomer), "the other project goes before the backlog"

        # The holder dies without letting the lease go: the other replica takes it when it lapses.
        first._stop.set()
        first._thread.join(5)
        died = time.monotonic()
        _run_to_end(store, newcomer)
        wait_for("a send by the other replica", lambda: len(sent) == 3, LEASE_SECONDS + 5)
        assert sent[2] == ("second", backlog[1])
        assert time.monotonic() - died < LEASE_SECONDS + 3 * PASS_SECONDS
    finally:
        first.stop()
        second.stop()
        bus.close()
        store.dispose()
