"""sealed webhook secrets: projects.webhook_secret widened to hold a Fernet token

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        # A Fernet token of a `whsec_` secret is about 190 characters, over the old 100.
        batch_op.alter_column(
            "webhook_secret",
            existing_type=sa.String(length=100),
            type_=sa.String(length=512),
            existing_nullable=True,
        )


def downgrade() -> None:
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.alter_column(
            "webhook_secret",
            existing_type=sa.String(length=512),
            type_=sa.String(length=100),
            existing_nullable=True,
        )
