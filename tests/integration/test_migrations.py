"""Migrations: `s2v db upgrade` gives SQLite and PostgreSQL the models' exact schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from subject2video.tasks.models import Base
from subject2video.tasks.store import Store
from tests.utils.cluster import postgres_database, s2v


def _differences(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()


def test_db_upgrade_on_sqlite_and_postgresql(tmp_path: Path) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 's2v.db'}"
    s2v(["db", "upgrade", "--data-dir", str(tmp_path)], {})
    assert _differences(sqlite_url) == []
    try:
        database = postgres_database()
        url = database.__enter__()
    except Exception as exc:  # only where PostgreSQL is not running at all
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    try:
        out = s2v(["db", "upgrade", "--data-dir", str(tmp_path)], {"S2V_DATABASE_URL": url})
        assert "newest schema" in out and "postgresql" in out
        s2v(["db", "upgrade", "--data-dir", str(tmp_path)], {"S2V_DATABASE_URL": url})  # again
        assert _differences(url) == []
        engine = create_engine(url)
        assert "alembic_version" in inspect(engine).get_table_names()
        engine.dispose()
    finally:
        database.__exit__(None, None, None)


def test_a_store_made_before_migrations_is_adopted(tmp_path: Path) -> None:
    """A store made by create_all (before Alembic) is stamped, then migrated; its rows stay."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    store = Store(url)
    project = store.create_project("kept")
    store.create_schema()
    assert [p.name for p in store.projects()] == ["kept"] and project.id == 1
    assert "alembic_version" in inspect(store.engine).get_table_names()
    store.dispose()
    assert _differences(url) == []
