"""Schema migrations (Alembic) of the task store, the same for SQLite and PostgreSQL.

`upgrade(url)` brings a store to the newest schema: `s2v db upgrade` and every start-up call it. A
store made before migrations existed (by `create_all`) is stamped at the first revision first. To
add a column: change tasks/models.py, then `alembic -c src/subject2video/migrations/alembic.ini
revision --autogenerate -m "what"` (S2V_DATABASE_URL names the store to compare with), and review
the file.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
FIRST = "0001"
#: Any constant: PostgreSQL advisory lock that serialises replicas migrating at the same time.
LOCK_ID = 0x5327


def config(connection: Connection | None = None) -> Config:
    """An Alembic config for the packaged scripts, bound to `connection` when one is given."""
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the store behind `engine` to `revision` (default: the newest)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": LOCK_ID})
        tables = set(inspect(conn).get_table_names())
        cfg = config(conn)
        if "tasks" in tables and "alembic_version" not in tables:
            logger.info("store predates migrations; stamping it at %s", FIRST)
            command.stamp(cfg, FIRST)
        before = _revision(conn) if "tasks" in tables else None
        command.upgrade(cfg, revision)
        after = _revision(conn)
        if after != before:
            logger.info("store migrated", extra={"from": before or "empty", "to": after})


def _revision(conn: Connection) -> str | None:
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
