"""The lock's guard (scripts/lockfile.py): the committed lock answers pyproject.toml, and a changed
dependency list is noticed without resolving anything."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def lockfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    spec = importlib.util.spec_from_file_location("lockfile", ROOT / "scripts" / "lockfile.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "lockfile", module)
    spec.loader.exec_module(module)
    for name in ("PYPROJECT", "LOCK", "TOOLS"):
        copy = tmp_path / getattr(module, name).name
        copy.write_text(getattr(module, name).read_text())
        monkeypatch.setattr(module, name, copy)
    return module


def test_the_committed_lock_answers_pyproject(lockfile) -> None:
    assert lockfile.check() == []


def test_a_new_dependency_is_noticed(lockfile) -> None:
    text = lockfile.PYPROJECT.read_text()
    lockfile.PYPROJECT.write_text(text.replace('"numpy>=1.26",', '"numpy>=1.26",\n  "leftpad>=1",'))
    problems = lockfile.check()
    assert any("digest differs" in p for p in problems)
    assert any("'leftpad>=1'" in p for p in problems)


def test_a_changed_range_is_noticed_and_a_stamp_settles_it(lockfile) -> None:
    text = lockfile.PYPROJECT.read_text()
    lockfile.PYPROJECT.write_text(text.replace('"numpy>=1.26"', '"numpy>=2"'))
    assert lockfile.check() != []
    lockfile.stamp()
    assert lockfile.check() == []


def test_build_requirements_must_be_locked_too(lockfile) -> None:
    tools = lockfile.TOOLS.read_text()
    lockfile.TOOLS.write_text(tools.replace("wheel\n", ""))
    lockfile.stamp()
    assert any("build-system" in p for p in lockfile.check())
