"""The reaper ends or requeues the tasks of a worker whose heartbeat lapsed (no Redis needed)."""

from __future__ import annotations

from dataclasses import dataclass, field

from subject2video.errors import Failure
from subject2video.tasks.events import Event
from subject2video.tasks.reaper import Reaper
from subject2video.tasks.status import Status
from tests.unit.tasks.conftest import Harness


@dataclass
class MemoryBus:
    """The reaper's view of Redis, in memory: who beats, what was sent, what was published."""

    beating: set[str] = field(default_factory=set)
    sent_ids: set[int] = field(default_factory=set)
    published: list[Event] = field(default_factory=list)

    def publish(self, event: Event) -> None:
        self.published.append(event)

    def alive(self, workers: list[str]) -> dict[str, bool]:
        return {w: w in self.beating for w in workers}

    def sent(self, task_ids: list[int]) -> dict[int, bool]:
        return {t: t in self.sent_ids for t in task_ids}


def test_lapsed_worker_is_requeued_then_reaped(harness: Harness) -> None:
    bus = MemoryBus(beating={"celery@b-1"})
    resent: list[int] = []
    reaper = Reaper(harness.settings, harness.store, bus, resent.append)
    beat = harness.settings.worker_heartbeat_seconds
    task = harness.submit()
    bus.sent_ids.add(task.id)
    harness.start(task.id, worker="celery@a-1")
    reaper.sweep(now=1000.0)  # first seen missing: not yet
    assert harness.task(task.id).status == Status.start.value and resent == []
    reaper.sweep(now=1000.0 + beat)
    assert harness.task(task.id).status == Status.queue.value and resent == [task.id]
    assert [e.type for e in bus.published] == ["task_queue"]
    # Its second worker dies too: the attempts are spent, so the task ends, once.
    harness.start(task.id, worker="celery@a-2")
    reaper.sweep(now=2000.0)
    reaper.sweep(now=2000.0 + beat)
    ended = harness.task(task.id)
    assert (ended.status, ended.pexit, ended.failure) == (
        Status.postprocess_end.value,
        "1",
        Failure.worker.value,
    )
    assert [e.type for e in bus.published][-2:] == ["task_error", "task_postprocess_end"]
    assert len(harness.deliveries(task.id)) == 1
    reaper.sweep(now=3000.0)
    assert len(bus.published) == 3 and resent == [task.id]


def test_live_worker_and_unsent_task(harness: Harness) -> None:
    bus = MemoryBus(beating={"celery@a-1"})
    resent: list[int] = []
    reaper = Reaper(harness.settings, harness.store, bus, resent.append)
    running, unsent = harness.submit(), harness.submit()
    harness.start(running.id, worker="celery@a-1")
    later = unsent.createtime + harness.settings.resubmit_after_seconds
    reaper.sweep(now=later)
    reaper.sweep(now=later + 60)
    assert harness.task(running.id).status == Status.start.value
    assert resent == [unsent.id, unsent.id] and bus.published == []
