"""output access keys at rest: outputs.accesskey_digest (SHA-256, the check); accesskey sealable

An output's access key is the secret part of its download URL (`/v1/File/{id}/{accesskey}/...`):
with it, anyone who can reach the server downloads the video. Every dialect shows the URL again
(Detail, List, callbacks, predictions, files/retrieve), so it is kept reversibly, sealed like the
task tokens (tasks/keyring.py), and a download is checked against its SHA-256 in
`accesskey_digest` (a Fernet token differs at every sealing). Existing rows get their digest here;
their keys stay in clear until `s2v keys re-encrypt` seals them (this migration runs without the
master key).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 16:00:00
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _digest(accesskey: str) -> str:
    # Frozen here: the store's token_digest() must keep giving the same value.
    return hashlib.sha256(accesskey.encode()).hexdigest()


def upgrade() -> None:
    # A store made by create_all before migrations existed may have it already.
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("outputs")}
    if "accesskey_digest" in have:
        return
    with op.batch_alter_table("outputs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("accesskey_digest", sa.String(length=64), nullable=True))
        # A Fernet token of a 30-character key is about 130 characters, over the old 64.
        batch_op.alter_column(
            "accesskey",
            existing_type=sa.String(length=64),
            type_=sa.String(length=256),
            existing_nullable=False,
        )
    conn = op.get_bind()
    outputs = sa.table(
        "outputs", sa.column("id"), sa.column("accesskey"), sa.column("accesskey_digest")
    )
    rows = conn.execute(sa.select(outputs.c.id, outputs.c.accesskey)).fetchall()
    if rows:
        conn.execute(
            outputs.update()
            .where(outputs.c.id == sa.bindparam("output"))
            .values(accesskey_digest=sa.bindparam("digest")),
            [{"output": output_id, "digest": _digest(key)} for output_id, key in rows],
        )
    with op.batch_alter_table("outputs", schema=None) as batch_op:
        batch_op.alter_column(
            "accesskey_digest", existing_type=sa.String(length=64), nullable=False
        )


def downgrade() -> None:
    conn = op.get_bind()
    sealed = conn.execute(
        sa.text("SELECT count(*) FROM outputs WHERE accesskey LIKE 'fernet:%'")
    ).scalar()
    if sealed:
        raise RuntimeError(
            f"{sealed} output access keys are sealed: open them first (`s2v keys re-encrypt` "
            "with S2V_MASTER_KEY unset and S2V_OLD_MASTER_KEY set to the key that sealed them)"
        )
    with op.batch_alter_table("outputs", schema=None) as batch_op:
        batch_op.drop_column("accesskey_digest")
        batch_op.alter_column(
            "accesskey",
            existing_type=sa.String(length=256),
            type_=sa.String(length=64),
            existing_nullable=False,
        )
