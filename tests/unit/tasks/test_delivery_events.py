"""Deliveries per task and event (migration 0008): a store of revision 0007 keeps its deliveries,
each as its task's `completed` one; a task then takes one delivery per event, and no more; the
downgrade keeps the `completed` ones."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import create_engine, inspect

from subject2video.migrations import config, upgrade
from subject2video.tasks.models import Delivery, Task
from subject2video.tasks.store import Store


def _filler(column: sa.Column[Any]) -> Any:
    """A value for a NOT NULL column of an older schema's row."""
    if isinstance(column.type, sa.Integer):
        return 1
    if isinstance(column.type, sa.Float):
        return time.time()
    if isinstance(column.type, sa.JSON):
        return {}
    return f"x{column.name}"[: getattr(column.type, "length", None) or 64]


def _insert(engine: sa.Engine, table: str, **values: Any) -> None:
    """A row in `table` as the store's schema is now (reflected), with `values`."""
    reflected = sa.Table(table, sa.MetaData(), autoload_with=engine)
    row = {
        c.name: _filler(c)
        for c in reflected.columns
        if not c.nullable and c.server_default is None and not c.primary_key
    }
    with engine.begin() as conn:
        conn.execute(reflected.insert().values({**row, **values}))


def _delivery(store: Store, task_id: int, event: str) -> bool:
    return store.add_delivery(
        Delivery(
            id=f"msg_{task_id}_{event}", task_id=task_id, event=event, url="u", body="{}", due=0
        )
    )


def _replicate_task(store: Store, **extra: Any) -> Task:
    """A task of a new project with a Replicate-dialect callback."""
    project = store.create_project("p")
    return store.create_task(
        project_id=project.id,
        max_active=5,
        modelslugowner="o",
        modelslugproject="p",
        engine="camera",
        parameters={},
        callbackurl="http://127.0.0.2/hook",
        callback_dialect="replicate",
        **extra,
    )


def test_deliveries_migrate_to_one_per_task_and_event(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's2v.db'}"
    engine = create_engine(url)
    upgrade(engine, "0007")
    _insert(engine, "projects", id=1)
    _insert(engine, "tasks", id=7, project_id=1, status="task_postprocess_end", uuid="u7")
    _insert(engine, "deliveries", id="msg_old", task_id=7, state="delivered", due=0.0)
    upgrade(engine)

    store = Store(url)
    try:
        assert store.lease_due_deliveries(1e12, lease_seconds=1) == []  # delivered: none due
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, event, state FROM deliveries")).all()
        assert [tuple(r) for r in rows] == [("msg_old", "completed", "delivered")]
        assert not _delivery(store, 7, "completed")  # the final one: still one
        assert _delivery(store, 7, "start") and _delivery(store, 7, "logs")
        assert not _delivery(store, 7, "start")
        uniques = inspect(engine).get_unique_constraints("deliveries")
        assert [u["column_names"] for u in uniques] == [["task_id", "event"]]
    finally:
        store.dispose()

    with engine.begin() as conn:
        command.downgrade(config(conn), "0007")
    with engine.connect() as conn:
        left = conn.execute(sa.text("SELECT id FROM deliveries")).scalars().all()
    assert left == ["msg_old"]
    assert [u["column_names"] for u in inspect(engine).get_unique_constraints("deliveries")] == [
        ["task_id"]
    ]
    engine.dispose()


@pytest.mark.parametrize("event", ["start", "logs", "output"])
def test_only_a_missing_completed_delivery_counts_as_undelivered(
    tmp_path: Path, event: str
) -> None:
    """The restart's recovery looks for final tasks without their `completed` delivery: an
    earlier event's delivery does not hide a missing final one."""
    store = Store(f"sqlite:///{tmp_path / 's2v.db'}")
    store.create_schema()
    try:
        task = _replicate_task(store)
        store.update_fields(task.id, status="task_postprocess_end", pexit="0")
        assert _delivery(store, task.id, event)
        assert store.undelivered_final_tasks() == [task.id]
        assert _delivery(store, task.id, "completed")
        assert store.undelivered_final_tasks() == []
    finally:
        store.dispose()


def test_a_start_webhook_shows_the_prediction_starting_however_late_it_is_rendered(
    tmp_path: Path,
) -> None:
    """Replicate's `start` webhook is the prediction as created (`starting`). It is rendered off
    the loop after the event, and a worker can take the task first: the body then read
    `processing` (CI saw it once in `test_completed_webhook_is_signed_as_replicate_signs`)."""
    import json

    from subject2video.api.replicate.webhooks import START, record_event
    from subject2video.config import Settings
    from subject2video.tasks.keyring import Keyring

    store = Store(f"sqlite:///{tmp_path / 's2v.db'}")
    store.create_schema()
    try:
        task = _replicate_task(store, callback_events="start")
        store.update_fields(task.id, status="task_start", starttime=time.time())
        settings = Settings(data_dir=tmp_path)
        assert record_event(store, settings, task.id, START)
        [(_, sealed)] = store.delivery_bodies()
        body = json.loads(Keyring.from_settings(settings).open(sealed) or "")
        assert body["id"] == str(task.id) and body["status"] == "starting"
        assert body["output"] is None and body["completed_at"] is None
    finally:
        store.dispose()
