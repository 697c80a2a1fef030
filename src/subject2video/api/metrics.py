"""Prometheus metrics: tasks by status, queue depth and usage per project (read from the store at
scrape time, so every replica reports the same), and task durations (observed as tasks end)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from subject2video.tasks.events import Event
from subject2video.tasks.models import elapsed_seconds
from subject2video.tasks.status import FINAL, Status
from subject2video.tasks.store import Store
from subject2video.tasks.usage import project_usage

_FINAL = frozenset(s.value for s in FINAL)


#: Per-project usage figures (tasks/usage.py): metric name, help, ProjectUsage attribute.
_USAGE = (
    ("s2v_project_tasks", "Tasks made by the project", "tasks"),
    ("s2v_project_tasks_finished", "The project's tasks that made a video", "finished"),
    ("s2v_project_tasks_failed", "The project's tasks that failed", "failed"),
    ("s2v_project_tasks_cancelled", "The project's tasks cancelled or killed", "cancelled"),
    ("s2v_project_engine_seconds", "Engine seconds the project's tasks used", "engine_seconds"),
    ("s2v_project_output_bytes", "Bytes of the project's stored outputs", "output_bytes"),
    ("s2v_project_cost", "Engine seconds times S2V_PRICE_PER_SECOND", "cost"),
)


class StoreCollector(Collector):
    """Counts read from the store, so every API replica reports the same truth."""

    def __init__(self, store: Store, price: float = 0.0) -> None:
        self.store = store
        self.price = price

    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts = self.store.count_by_status()
        tasks = GaugeMetricFamily("s2v_tasks", "Tasks by status", labels=["status"])
        for status in Status:
            tasks.add_metric([status.value], counts.get(status.value, 0))
        yield tasks
        depth = GaugeMetricFamily("s2v_queue_depth", "Tasks waiting for a worker")
        depth.add_metric([], counts.get(Status.queue.value, 0))
        yield depth
        rows = project_usage(self.store, price=self.price)
        for name, doc, attr in _USAGE:
            family = GaugeMetricFamily(name, doc, labels=["project_id", "project"])
            for row in rows:
                family.add_metric([str(row.project_id), row.name], getattr(row, attr))
            yield family


class Metrics:
    """The API process's registry."""

    def __init__(self, store: Store, *, price: float = 0.0) -> None:
        self.store = store
        self.registry = CollectorRegistry()
        self.registry.register(StoreCollector(store, price))
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
