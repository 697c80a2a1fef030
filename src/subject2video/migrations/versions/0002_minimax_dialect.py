"""the MiniMax dialect: tasks.callback_dialect, outputs.width and outputs.height

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 05:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

COLUMNS = {
    "tasks": [sa.Column("callback_dialect", sa.String(length=20), nullable=True)],
    "outputs": [
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
    ],
}


def upgrade() -> None:
    # A store made by create_all before migrations existed may have them already.
    inspector = sa.inspect(op.get_bind())
    for table, columns in COLUMNS.items():
        have = {c["name"] for c in inspector.get_columns(table)}
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                if column.name not in have:
                    batch_op.add_column(column)


def downgrade() -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_column(column.name)
