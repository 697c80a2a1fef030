"""Prometheus metrics: tasks by status and queue depth (read from the store at scrape time), and
task durations (observed as tasks end)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from subject2video.tasks.events import Event
from subject2video.tasks.status import FINAL, Status
from subject2video.tasks.store import Store
from subject2video.tasks.wire import elapsed_seconds

_FINAL = frozenset(s.value for s in FINAL)


class StoreCollector(Collector):
    """Counts read from the store, so every API replica reports the same truth."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts = self.store.count_by_status()
        tasks = GaugeMetricFamily("s2v_tasks", "Tasks by status", labels=["status"])
        for status in Status:
            tasks.add_metric([status.value], counts.get(status.value, 0))
        yield tasks
        depth = GaugeMetricFamily("s2v_queue_depth", "Tasks waiting for a worker")
        depth.add_metric([], counts.get(Status.queue.value, 0))
        yield depth


class Metrics:
    """The API process's registry."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.registry = CollectorRegistry()
        self.registry.register(StoreCollector(store))
        buckets = (0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300, 600)
        self.duration = Histogram(
            "s2v_task_duration_seconds",
            "Seconds from start to end of finished tasks",
            ["status", "pexit"],
            registry=self.registry,
            buckets=buckets,
        )

    def on_event(self, event: Event) -> None:
        """Observe a task's duration when it reaches a final status."""
        if event.type not in _FINAL:
            return
        task = self.store.get(event.task_id)
        if task is not None:
            self.duration.labels(task.status, task.pexit or "").observe(elapsed_seconds(task))

    def render(self) -> bytes:
        return generate_latest(self.registry)
