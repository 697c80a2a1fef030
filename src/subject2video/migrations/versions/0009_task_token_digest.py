"""task tokens at rest: tasks.token_digest (SHA-256, the lookup); socketaccesstoken sealable

A task's socket access token is a credential (it subscribes to the task's events without a key),
and Wiro's Detail, List and callback show it again, so it is kept reversibly, sealed like the API
secrets (tasks/keyring.py), and found by its SHA-256 in `token_digest` (a Fernet token differs at
every sealing, so it cannot be looked up). Existing rows get their digest here; their tokens stay
in clear until `s2v keys re-encrypt` seals them (this migration runs without the master key).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 15:00:00
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _digest(token: str) -> str:
    # Frozen here: the store's token_digest() must keep giving the same value.
    return hashlib.sha256(token.encode()).hexdigest()


def upgrade() -> None:
    # A store made by create_all before migrations existed may have it already.
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("tasks")}
    if "token_digest" in have:
        return
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token_digest", sa.String(length=64), nullable=True))
        batch_op.drop_index(batch_op.f("ix_tasks_socketaccesstoken"))
        # A Fernet token of a 30-character token is about 150 characters, over the old 64.
        batch_op.alter_column(
            "socketaccesstoken",
            existing_type=sa.String(length=64),
            type_=sa.String(length=256),
            existing_nullable=False,
        )
    conn = op.get_bind()
    tasks = sa.table(
        "tasks", sa.column("id"), sa.column("socketaccesstoken"), sa.column("token_digest")
    )
    rows = conn.execute(sa.select(tasks.c.id, tasks.c.socketaccesstoken)).fetchall()
    if rows:
        conn.execute(
            tasks.update()
            .where(tasks.c.id == sa.bindparam("task"))
            .values(token_digest=sa.bindparam("digest")),
            [{"task": task_id, "digest": _digest(token)} for task_id, token in rows],
        )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.alter_column("token_digest", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index(batch_op.f("ix_tasks_token_digest"), ["token_digest"], unique=True)


def downgrade() -> None:
    conn = op.get_bind()
    sealed = conn.execute(
        sa.text("SELECT count(*) FROM tasks WHERE socketaccesstoken LIKE 'fernet:%'")
    ).scalar()
    if sealed:
        raise RuntimeError(
            f"{sealed} task tokens are sealed: open them first (`s2v keys re-encrypt` with "
            "S2V_MASTER_KEY unset and S2V_OLD_MASTER_KEY set to the key that sealed them)"
        )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasks_token_digest"))
        batch_op.drop_column("token_digest")
        batch_op.alter_column(
            "socketaccesstoken",
            existing_type=sa.String(length=256),
            type_=sa.String(length=64),
            existing_nullable=False,
        )
        batch_op.create_index(
            batch_op.f("ix_tasks_socketaccesstoken"), ["socketaccesstoken"], unique=True
        )
