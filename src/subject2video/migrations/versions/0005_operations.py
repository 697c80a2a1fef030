"""key lifecycle and usage: projects.revokedtime, lastusedtime, previous_*; tasks.engine_seconds

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_PROJECT_COLUMNS = (
    sa.Column("revokedtime", sa.Float(), nullable=True),
    sa.Column("lastusedtime", sa.Float(), nullable=True),
    sa.Column("previous_apikey", sa.String(length=64), nullable=True),
    sa.Column("previous_apisecret", sa.String(length=512), nullable=True),
    sa.Column("previous_until", sa.Float(), nullable=True),
)


def upgrade() -> None:
    # A store made by create_all before migrations existed may have them already.
    inspector = sa.inspect(op.get_bind())
    have = {c["name"] for c in inspector.get_columns("projects")}
    indexes = {i["name"] for i in inspector.get_indexes("projects")}
    with op.batch_alter_table("projects", schema=None) as batch_op:
        # A Fernet token of a 40-character secret is 140 characters, over the old 128.
        batch_op.alter_column(
            "apisecret",
            existing_type=sa.String(length=128),
            type_=sa.String(length=512),
            existing_nullable=True,
        )
        for column in _PROJECT_COLUMNS:
            if column.name not in have:
                batch_op.add_column(column)
        if "ix_projects_previous_apikey" not in indexes:
            batch_op.create_index("ix_projects_previous_apikey", ["previous_apikey"])
    if "engine_seconds" in {c["name"] for c in inspector.get_columns("tasks")}:
        return
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("engine_seconds", sa.Float(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_column("engine_seconds")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_index("ix_projects_previous_apikey")
        for column in reversed(_PROJECT_COLUMNS):
            batch_op.drop_column(column.name)
        batch_op.alter_column(
            "apisecret",
            existing_type=sa.String(length=512),
            type_=sa.String(length=128),
            existing_nullable=True,
        )
