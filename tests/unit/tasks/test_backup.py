"""Backup and restore in-process: the snapshot, the manifest's checksums, the refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from subject2video.engines.camera import CameraEngine
from subject2video.migrations import config
from subject2video.tasks.backup import BackupError, backup, restore
from subject2video.tasks.store import Store
from tests.unit.tasks.conftest import Harness, make_settings

SHORT = {"seconds": 2, "short_side": 480}


def test_backup_restore_and_a_damaged_backup(harness: Harness, tmp_path: Path) -> None:
    done = harness.submit(**SHORT)
    harness.runner(CameraEngine()).run(done.id)
    queued = harness.submit(**SHORT)  # its uploaded input must come along, to run after restore
    dest = tmp_path / "backup"
    report = backup(harness.settings, dest)
    manifest = json.loads((dest / "manifest.json").read_text())
    areas = sorted(f["area"] for f in manifest["files"])
    assert areas == ["inputs", "inputs", "outputs"] and report.files == 3
    assert manifest["schema_revision"] == ScriptDirectory.from_config(config()).get_current_head()
    with pytest.raises(BackupError, match="not empty"):
        backup(harness.settings, dest)

    fresh = make_settings(tmp_path / "fresh")
    restored = restore(fresh, dest)
    assert restored.files == 3 and restored.bytes == report.bytes
    store = Store(fresh.db_url)
    try:
        assert store.get(queued.id) is not None
        [output] = store.outputs([done.id])[done.id]
        assert (fresh.data_dir / "outputs" / output.key).stat().st_size == output.size
    finally:
        store.dispose()
    with pytest.raises(BackupError, match="not empty"):
        restore(fresh, dest)

    output_file = next(p for p in (dest / "outputs").rglob("*") if p.is_file())
    output_file.write_bytes(output_file.read_bytes()[:-1] + b"\0")
    with pytest.raises(BackupError, match="damaged"):
        restore(make_settings(tmp_path / "other"), dest)
    assert not (tmp_path / "other" / "s2v.db").exists()  # checked before anything was written
