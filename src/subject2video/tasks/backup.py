"""Backups of the embedded deployment: `s2v db backup DEST` and `s2v db restore SRC`.

A backup is a folder:
- `s2v.db`: an online, consistent copy of the SQLite store made with SQLite's backup API, safe
  while the server runs (it copies a snapshot; writers are not stopped);
- `outputs/`, `inputs/`: the files the snapshot refers to (local storage), copied after it, so
  every output row in the copy has its file;
- `manifest.json`: each of those files' key, size and SHA-256, and the store's schema revision.

Tasks that end after the snapshot are not in it. Tasks running at the snapshot are running in the
copy: a server started on the restored data dir requeues them at start-up (`Lifecycle.recover`)
and runs them again. With S3 storage the manifest lists the objects, which stay in the bucket
(back the bucket up with its own tools). A PostgreSQL store is backed up with `pg_dump`; `backup`
then checks it is reachable and writes the outputs manifest only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from subject2video.config import Settings
from subject2video.media.storage import LocalStorage, open_storage

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
DATABASE = "s2v.db"
AREAS = ("outputs", "inputs")


class BackupError(Exception):
    """A backup or restore that cannot be made; the message says why and what to do."""


@dataclass
class Report:
    """What a backup or restore did."""

    files: int = 0
    bytes: int = 0
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _empty(folder: Path) -> bool:
    return not folder.exists() or not any(folder.iterdir())


def _referenced(db: Path) -> tuple[dict[str, list[tuple[str, int | None]]], str]:
    """The storage keys a store refers to, by area (outputs with sizes, uploaded inputs), and
    the store's schema revision."""
    with sqlite3.connect(db) as conn:
        outputs = [(key, size) for key, size in conn.execute("SELECT key, size FROM outputs")]
        inputs = [
            (path.removeprefix("inputs/"), None)
            for (path,) in conn.execute("SELECT input_path FROM tasks WHERE input_path IS NOT NULL")
        ]
        (revision,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return {"outputs": outputs, "inputs": inputs}, revision


def _copy_files(
    settings: Settings, dest: Path, refs: dict[str, Any], report: Report
) -> list[dict[str, Any]]:
    """Copy each referenced file of local storage into `dest/<area>/`; the manifest's entries."""
    entries: list[dict[str, Any]] = []
    for area in AREAS:
        storage = open_storage(settings, area)
        for key, size in refs[area]:
            entry: dict[str, Any] = {"area": area, "key": key, "size": size}
            if isinstance(storage, LocalStorage):
                source = storage.path(key)
                if not source.exists():  # expired and deleted after the snapshot
                    report.missing.append(f"{area}/{key}")
                    continue
                target = dest / area / key
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
                entry |= {"size": target.stat().st_size, "sha256": _sha256(target)}
                report.files += 1
                report.bytes += entry["size"]
            entries.append(entry)
    return entries


def backup(settings: Settings, dest: Path) -> Report:
    """Copy the store (online) and the files it refers to into the empty folder `dest`."""
    if not _empty(dest):
        raise BackupError(f"{dest} is not empty: give a new folder for the backup")
    url = make_url(settings.db_url)
    if url.get_backend_name() != "sqlite":
        return _check_postgres(settings)
    source = Path(url.database or "")
    if not source.exists():
        raise BackupError(f"no store at {source}: is --data-dir (S2V_DATA_DIR) right?")
    dest.mkdir(parents=True, exist_ok=True)
    started = time.time()
    with sqlite3.connect(source, timeout=30) as src, sqlite3.connect(dest / DATABASE) as dst:
        src.backup(dst)  # one consistent snapshot, while the server keeps writing
    src.close()
    dst.close()
    report = Report()
    refs, revision = _referenced(dest / DATABASE)
    entries = _copy_files(settings, dest, refs, report)
    storage = "s3" if (settings.storage_url or "").startswith("s3://") else "local"
    manifest = {
        "format": 1,
        "created": started,
        "database": DATABASE,
        "schema_revision": revision,
        "storage": storage,
        "files": entries,
        "missing": report.missing,
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=1))
    if storage == "s3":
        report.notes.append("outputs are in S3: back up the bucket with its own tools")
    logger.info("backup made", extra={"dest": str(dest), "files": report.files})
    return report


def _check_postgres(settings: Settings) -> Report:
    """PostgreSQL: see that the store answers, and say how to back it up."""
    engine = create_engine(settings.db_url, pool_pre_ping=True)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        raise BackupError(f"the PostgreSQL store is not reachable: {exc}") from None
    finally:
        engine.dispose()
    safe = make_url(settings.db_url).render_as_string(hide_password=True)
    report = Report()
    report.notes.append(
        "the store is PostgreSQL and reachable: back it up with pg_dump, for example "
        f'`pg_dump --format=custom --file s2v.pgdump "{safe}"` (and restore with pg_restore); '
        "back up the storage (S2V_STORAGE_URL) alongside"
    )
    return report


def restore(settings: Settings, source: Path) -> Report:
    """Restore a backup folder into the empty data dir (and storage) of `settings`."""
    manifest_path = source / MANIFEST
    if not manifest_path.exists():
        raise BackupError(f"{source} has no {MANIFEST}: is it a folder made by `s2v db backup`?")
    manifest = json.loads(manifest_path.read_text())
    url = make_url(settings.db_url)
    if url.get_backend_name() != "sqlite":
        raise BackupError("S2V_DATABASE_URL names PostgreSQL: restore its pg_dump with pg_restore")
    target = Path(url.database or "")
    stores = [open_storage(settings, area) for area in AREAS]
    local = [s for s in stores if isinstance(s, LocalStorage)]
    if target.exists() or not all(_empty(s.root) for s in local):
        raise BackupError(
            f"the data dir {settings.data_dir} is not empty: restore into a new one "
            "(--data-dir), never over a store in use"
        )
    report = Report()
    _verify(source, manifest)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / manifest["database"], target)
    by_area = {area: open_storage(settings, area) for area in AREAS}
    for entry in manifest["files"]:
        storage = by_area[entry["area"]]
        if "sha256" not in entry or not isinstance(storage, LocalStorage):
            continue
        destination = storage.path(entry["key"])
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / entry["area"] / entry["key"], destination)
        report.files += 1
        report.bytes += entry["size"]
    report.missing = list(manifest.get("missing", []))
    return report


def _verify(source: Path, manifest: dict[str, Any]) -> None:
    """Every file of the backup is there, with its size and checksum, before anything is written."""
    for entry in manifest["files"]:
        if "sha256" not in entry:
            continue
        path = source / entry["area"] / entry["key"]
        if not path.exists() or _sha256(path) != entry["sha256"]:
            raise BackupError(
                f"{path} is missing or changed since the backup: the backup is damaged, "
                "restore another one"
            )
