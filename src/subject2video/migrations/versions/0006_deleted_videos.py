"""deleted videos: tasks.deletedtime (OpenAI's DELETE hides a task from its dialect)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A store made by create_all before migrations existed may have it already.
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("tasks")}
    if "deletedtime" in have:
        return
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deletedtime", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_column("deletedtime")
