"""project webhooks for the OpenAI dialect: projects.webhook_url, projects.webhook_secret

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A store made by create_all before migrations existed may have them already.
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("projects")}
    with op.batch_alter_table("projects", schema=None) as batch_op:
        if "webhook_url" not in have:
            batch_op.add_column(sa.Column("webhook_url", sa.Text(), nullable=True))
        if "webhook_secret" not in have:
            batch_op.add_column(sa.Column("webhook_secret", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_column("webhook_secret")
        batch_op.drop_column("webhook_url")
