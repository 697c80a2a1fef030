"""deliveries per task and event: deliveries.event, unique (task_id, event); tasks.callback_events

A task had one delivery (its final callback). Replicate's webhooks also announce a prediction's
start, its logs and its output (`webhook_events_filter`), so a task has one delivery per event;
every delivery recorded before is the `completed` one. `tasks.callback_events` keeps the events a
task's webhook asked for (None: its dialect's default).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_COLUMNS = "id, task_id, url, body, state, attempts, due, last_error, lease_until"


def _deliveries(name: str, *, with_event: bool) -> None:
    """The deliveries table as `name`: one row per task (and event, `with_event`)."""
    columns = [
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
    ]
    if with_event:
        columns.append(
            sa.Column("event", sa.String(length=20), nullable=False, server_default="completed")
        )
    op.create_table(
        name,
        *columns,
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due", sa.Float(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("lease_until", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("task_id", "event", name="uq_deliveries_task_event")
        if with_event
        else sa.UniqueConstraint("task_id"),
    )


def _swap(*, with_event: bool, rows: str) -> None:
    """Rebuild deliveries (SQLite cannot drop its unnamed unique constraint in place)."""
    _deliveries("deliveries_next", with_event=with_event)
    op.execute(f"INSERT INTO deliveries_next ({rows}) SELECT {rows} FROM deliveries")
    op.drop_index("ix_deliveries_state_due", table_name="deliveries")
    op.drop_table("deliveries")
    op.rename_table("deliveries_next", "deliveries")
    op.create_index("ix_deliveries_state_due", "deliveries", ["state", "due"])


def upgrade() -> None:
    # A store made by create_all before migrations existed may have them already.
    inspector = sa.inspect(op.get_bind())
    if "callback_events" not in {c["name"] for c in inspector.get_columns("tasks")}:
        with op.batch_alter_table("tasks", schema=None) as batch_op:
            batch_op.add_column(sa.Column("callback_events", sa.String(length=64), nullable=True))
    if "event" not in {c["name"] for c in inspector.get_columns("deliveries")}:
        _swap(with_event=True, rows=_COLUMNS)  # every row so far is a `completed` delivery


def downgrade() -> None:
    op.execute("DELETE FROM deliveries WHERE event != 'completed'")
    _swap(with_event=False, rows=_COLUMNS)
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_column("callback_events")
