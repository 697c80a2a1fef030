"""Migrations: `s2v db upgrade` gives SQLite and PostgreSQL the models' exact schema."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from cryptography.fernet import Fernet
from sqlalchemy import Connection, Engine, create_engine, inspect, text

from subject2video import migrations
from subject2video.tasks import keys
from subject2video.tasks.keyring import Keyring
from subject2video.tasks.models import Base
from subject2video.tasks.store import Store, token_digest
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


def _downgrade(engine: Engine, revision: str) -> None:
    """Migrate the store behind `engine` down to `revision` (no `s2v` command does this)."""
    with engine.begin() as conn:
        command.downgrade(migrations.config(conn), revision)


def _insert(conn: Connection, table: str, **values: object) -> None:
    """A row with `values`, every other required column filled with a plain value of its type."""
    for column in inspect(conn).get_columns(table):
        if column["name"] in values or column["nullable"] or column.get("autoincrement") is True:
            continue
        kind = str(column["type"]).upper()
        plain = 0 if "INT" in kind or "FLOAT" in kind else "{}" if "JSON" in kind else "x"
        values.setdefault(column["name"], plain)
    names = ", ".join(values)
    marks = ", ".join(f":{name}" for name in values)
    conn.execute(text(f"INSERT INTO {table} ({names}) VALUES ({marks})"), values)


def test_task_tokens_stored_before_0009_keep_working_and_are_sealed(tmp_path: Path) -> None:
    """A store whose tokens were kept in clear (before 0009): after the upgrade each task is
    found by its token through the digest, and re-encrypt seals the token, counting it."""
    url = f"sqlite:///{tmp_path / 's2v.db'}"
    engine = create_engine(url)
    migrations.upgrade(engine, "0008")
    clear = "A" * 15 + "b" * 15
    with engine.begin() as conn:
        _insert(conn, "projects", id=1, name="old", apikey="k" * 32, createtime=0.0)
        _insert(conn, "tasks", id=7, uuid="u" * 36, project_id=1, socketaccesstoken=clear)
    engine.dispose()
    store = Store(url)
    store.create_schema()
    try:
        task = store.by_token(clear)
        assert task is not None and task.id == 7
        assert task.token_digest == hashlib.sha256(clear.encode()).hexdigest()
        master = Fernet.generate_key().decode()
        assert keys.reencrypt(store, Keyring(master))["token"] == 1
        sealed = store.by_token(clear)
        assert sealed is not None and sealed.socketaccesstoken.startswith("fernet:")
        assert Keyring(master).open(sealed.socketaccesstoken) == clear
        assert keys.unsealed(store, Keyring(master)) == []
        found = store.find(1, tasktoken=clear)
        assert found is not None and found.id == 7
    finally:
        store.dispose()
    assert _differences(url) == []


def test_output_access_keys_stored_before_0010_keep_working_and_are_sealed(
    tmp_path: Path,
) -> None:
    """A store whose output access keys were kept in clear (before 0010): after the upgrade each
    output has the digest a download is checked against, re-encrypt seals the key, counting it,
    and the downgrade refuses while keys are sealed (as 0009's does), then runs once they are
    opened again."""
    url = f"sqlite:///{tmp_path / 's2v.db'}"
    engine = create_engine(url)
    migrations.upgrade(engine, "0009")
    clear = "C" * 15 + "d" * 15
    token = "t" * 30
    with engine.begin() as conn:
        _insert(conn, "projects", id=1, name="old", apikey="k" * 32, createtime=0.0)
        _insert(
            conn,
            "tasks",
            id=7,
            uuid="u" * 36,
            project_id=1,
            socketaccesstoken=token,
            token_digest=hashlib.sha256(token.encode()).hexdigest(),
        )
        _insert(conn, "outputs", id="a" * 32, task_id=7, name="0.mp4", accesskey=clear)
    engine.dispose()
    store = Store(url)
    store.create_schema()
    master = Fernet.generate_key().decode()
    try:
        output = store.output("a" * 32)
        assert output is not None and output.accesskey == clear
        assert output.accesskey_digest == token_digest(clear)  # what TaskService.file compares
        # Named as left in clear (re-encrypt fails naming what it could not seal).
        assert keys.unsealed(store, Keyring(master)) == [
            "task 7 token",
            f"output {'a' * 32} access key",
        ]
        assert keys.reencrypt(store, Keyring(master)) == {
            "project": 0,
            "token": 1,
            "output": 1,
            "body": 0,
        }
        sealed = store.output("a" * 32)
        assert sealed is not None and sealed.accesskey.startswith("fernet:")
        assert Keyring(master).open(sealed.accesskey) == clear
        assert sealed.accesskey_digest == token_digest(clear)
        assert keys.unsealed(store, Keyring(master)) == []
        assert _differences(url) == []
        with pytest.raises(RuntimeError, match="1 output access keys are sealed"):
            _downgrade(store.engine, "0009")
        keys.reencrypt(store, Keyring(None, old_keys=(master,)))  # opened again
    finally:
        store.dispose()
    engine = create_engine(url)
    try:
        _downgrade(engine, "0009")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT accesskey FROM outputs")).scalar() == clear
            columns = {c["name"] for c in inspect(conn).get_columns("outputs")}
        assert "accesskey_digest" not in columns
    finally:
        engine.dispose()
