"""Alembic's environment: the store's metadata; batch mode so SQLite can alter tables."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

from subject2video.tasks.models import Base

target_metadata = Base.metadata


def _run(connection: object) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # the `alembic` command line, for writing a new revision
    url = os.environ.get("S2V_DATABASE_URL") or "sqlite:///.s2v/s2v.db"
    with create_engine(url).connect() as conn:
        _run(conn)
        conn.commit()
