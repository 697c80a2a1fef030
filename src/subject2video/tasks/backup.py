"""Backups of the embedded deployment: `s2v db backup DEST` and `s2v db restore SRC`.

A backup is a folder:
- `s2v.db`: an online, consistent copy of the SQLite store made with SQLite's backup API, safe
  while the server runs (it copies a snapshot; writers are not stopped);
- `outputs/`, `inputs/`: the files the snapshot refers to (local storage), copied after it, so
  every output row in the copy has its file;
- `manifest.json`: the database's SHA-256 and size, each of those files' key, size and SHA-256,
  and the store's schema revision.

A restore checks everything before it touches the target: the manifest's checksums (the database
and every file), then SQLite's `PRAGMA integrity_check` on a staged copy. It builds the new store
and storage areas beside their places (`.<name>.restoring`) and renames them into place only when
every check passed; a failed restore removes what it staged (and any folder it made), so it can
simply be run again.

Tasks that end after the snapshot are not in it. Tasks running at the snapshot are running in the
copy: a server started on the restored data dir requeues them at start-up (`Lifecycle.recover`)
and runs them again. With S3 storage the manifest lists the objects, which stay in the bucket
(back the bucket up with its own tools). A PostgreSQL store is backed up with `pg_dump`; `backup`
then checks it is reachable and writes the outputs manifest only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

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
        "format": 2,
        "created": started,
        "database": DATABASE,
        "database_size": (dest / DATABASE).stat().st_size,
        "database_sha256": _sha256(dest / DATABASE),
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


def _local_root(settings: Settings, area: str) -> Path | None:
    """Where local storage keeps `area` (as `open_storage` does, without making it); None: S3."""
    url = settings.storage_url
    if url and url.startswith("s3://"):
        return None
    if url:
        return Path(urlparse(url).path if url.startswith("file://") else url).expanduser() / area
    return settings.data_dir / area


def _staged(path: Path) -> Path:
    return path.parent / f".{path.name}.restoring"


def _integrity(db: Path) -> None:
    """SQLite's own check of a staged database, and that it is a store (has a schema revision)."""
    try:
        with contextlib.closing(sqlite3.connect(db)) as conn:
            problems = [row[0] for row in conn.execute("PRAGMA integrity_check(20)")]
            if problems != ["ok"]:
                raise BackupError(
                    "the backup's database fails SQLite's integrity check "
                    f"({'; '.join(problems)}): it was damaged before or after the backup; "
                    "restore another backup"
                )
            conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error as exc:
        raise BackupError(
            f"the backup's database fails SQLite's integrity check ({exc}): it is damaged or "
            "not a store; restore another backup"
        ) from None


def restore(settings: Settings, source: Path) -> Report:
    """Restore a backup folder into the empty data dir (and storage) of `settings`.

    Nothing is written to the target until every check has passed; what was staged is removed
    if anything fails."""
    manifest_path = source / MANIFEST
    if not manifest_path.exists():
        raise BackupError(f"{source} has no {MANIFEST}: is it a folder made by `s2v db backup`?")
    try:
        manifest = json.loads(manifest_path.read_text())
        database = source / manifest["database"]
        files = list(manifest["files"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"{manifest_path} is not a backup manifest ({exc!r})") from None
    url = make_url(settings.db_url)
    if url.get_backend_name() != "sqlite":
        raise BackupError("S2V_DATABASE_URL names PostgreSQL: restore its pg_dump with pg_restore")
    target = Path(url.database or "")
    roots = {area: _local_root(settings, area) for area in AREAS}
    occupied = target.exists() or any(
        root is not None and not _empty(root) for root in roots.values()
    )
    if occupied:
        raise BackupError(
            f"the data dir {settings.data_dir} is not empty: restore into a new one "
            "(--data-dir), never over a store in use"
        )
    report = Report()
    # 1. The backup itself: the database's checksum, then every file's.
    if not database.exists():
        raise BackupError(f"{database} is missing: the backup is damaged, restore another one")
    expected = manifest.get("database_sha256")
    if expected is None:
        report.notes.append(
            "the manifest has no checksum of the database (a backup made before checksums); "
            "SQLite's integrity check passed"
        )
    elif _sha256(database) != expected:
        raise BackupError(
            f"{database} does not match the checksum in {MANIFEST}: the backup is damaged, "
            "restore another one"
        )
    _verify(source, manifest)
    # 2. Stage beside the target, check the staged copy, then rename into place.
    made: list[Path] = []  # folders this restore made, removed again if it fails
    staged: list[tuple[Path, Path]] = []
    try:
        for folder in {target.parent, *(root.parent for root in roots.values() if root)}:
            _make_dirs(folder, made)
        staged_db = _staged(target)
        _remove(staged_db)  # left by a restore that was killed
        staged.append((staged_db, target))
        shutil.copy2(database, staged_db)
        if expected is not None and _sha256(staged_db) != expected:
            raise BackupError(f"the copy of {database} differs from it: is the disk failing?")
        _integrity(staged_db)
        for area, root in roots.items():
            if root is None:
                continue
            stage = _staged(root)
            _remove(stage)
            stage.mkdir()
            staged.append((stage, root))
            for entry in files:
                if entry["area"] != area or "sha256" not in entry:
                    continue
                path = LocalStorage(stage).path(entry["key"])  # keys never leave the area
                path.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source / area / entry["key"], path)
                report.files += 1
                report.bytes += entry["size"]
        for stage, final in reversed(staged):  # the areas first, the database last
            os.replace(stage, final)  # an empty area folder is replaced
    except BaseException as exc:
        for stage, _ in staged:
            _remove(stage)
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                folder.rmdir()
        if isinstance(exc, OSError):
            raise BackupError(
                f"the restore could not write its files ({exc}); nothing was left "
                "behind: fix that and run it again"
            ) from None
        raise
    report.missing = list(manifest.get("missing", []))
    return report


def _make_dirs(folder: Path, made: list[Path]) -> None:
    """`mkdir -p folder`, noting each folder made (outermost first)."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    for path in reversed(missing):
        path.mkdir()
        made.append(path)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


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
