"""In-process task system: a real store (SQLite in a temp dir), service, runner and lifecycle.

Nothing here starts a server. The dispatcher the service talks to records what it was asked
(`RecordingDispatcher`); the tests then run the task on an in-process `Runner` with a small engine,
which is what a worker process would do with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from subject2video.config import Settings
from subject2video.contract import RunInput
from subject2video.engines.base import Engine
from subject2video.media.detector import get_detector
from subject2video.tasks.events import Event
from subject2video.tasks.models import Delivery, Project, Task
from subject2video.tasks.runner import Runner
from subject2video.tasks.service import TaskService, Upload
from subject2video.tasks.status import Status
from subject2video.tasks.store import Store
from tests.utils.images import face_jpeg

CALLBACK = "http://127.0.0.2:9/callback"


@dataclass
class RecordingDispatcher:
    """A `Dispatcher` that keeps what it is asked; the test plays the worker."""

    submitted: list[int] = field(default_factory=list)
    killed: list[int] = field(default_factory=list)

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def submit(self, task_id: int) -> None:
        self.submitted.append(task_id)

    def kill(self, task_id: int) -> None:
        self.killed.append(task_id)

    def is_ready(self) -> bool:
        return True


@dataclass
class Harness:
    """One data dir: settings, store, the events published, the service and its project."""

    settings: Settings
    store: Store
    events: list[Event]
    dispatcher: RecordingDispatcher
    service: TaskService
    project: Project

    def submit(self, *, image: bytes | None = None, prompt: str = "", **run: Any) -> Task:
        """A queued task with an uploaded image (the face by default) and a callback URL."""
        data = face_jpeg() if image is None else image
        run_input = RunInput(prompt=prompt or None, callback_url=CALLBACK, **run)
        return self.service.run(self.project, run_input, Upload("face.jpg", data))

    def runner(self, engine: Engine, **kwargs: Any) -> Runner:
        engine.setup()
        return Runner(
            self.settings,
            self.store,
            engine,
            publish=self.events.append,
            detector=get_detector(),
            **kwargs,
        )

    def types(self, task_id: int) -> list[str]:
        """The event types published for a task, in order."""
        return [e.type for e in self.events if e.task_id == task_id]

    def deliveries(self, task_id: int) -> list[Delivery]:
        with self.store.session() as s:
            return list(s.scalars(select(Delivery).where(Delivery.task_id == task_id)))

    def task(self, task_id: int) -> Task:
        task = self.store.get(task_id)
        assert task is not None
        return task

    def start(self, task_id: int, worker: str = "w-1") -> Task:
        """Claim a task and move it to task_start, as a worker does."""
        claimed = self.store.claim(task_id, worker)
        assert claimed is not None
        assert self.store.transition(
            task_id, Status.start, allowed_from=[Status.accept], holder=claimed.claim
        )
        return claimed


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "engine": "camera",
        "fetch_allow_hosts": "127.0.0.2",
        "task_max_attempts": 2,
        "workers": 1,
        **overrides,
    }
    return Settings(data_dir=data_dir, **values)


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    settings = make_settings(tmp_path / "data")
    settings.data_dir.mkdir(parents=True)
    store = Store(settings.db_url)
    store.create_schema()
    events: list[Event] = []
    dispatcher = RecordingDispatcher()
    service = TaskService(settings, store, dispatcher, events.append)
    project = store.create_project("p")
    yield Harness(settings, store, events, dispatcher, service, project)
    store.dispose()
