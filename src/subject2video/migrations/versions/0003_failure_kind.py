"""the failure kind: tasks.failure

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 03:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A store made by create_all before migrations existed may have it already.
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("tasks")}
    if "failure" in have:
        return
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failure", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_column("failure")
