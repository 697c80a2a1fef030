"""Test tiers, by folder: one rule, kept here.

- `tests/unit/` is the fast tier. It mirrors the package (`tests/unit/api/` tests
  `subject2video/api/`, and so on). Its tests run in this process: no `s2v serve` or `s2v worker`
  subprocess, browser, Redis or PostgreSQL. Loopback HTTP fixtures and tiny CPU models are fine.
- Everything else (`tests/integration/`, `tests/e2e/`, `tests/security/`) needs a real server,
  worker, browser or database, and is marked `server` here.

`make check` runs `pytest -m "not server"` (lint first); `make test` runs everything. A new test
that needs no server goes under `tests/unit/`; one that starts a server goes elsewhere.
"""

from __future__ import annotations

from pathlib import Path

import pytest

FAST = Path(__file__).parent / "unit"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test outside `tests/unit/` as `server`."""
    for item in items:
        if not item.path.is_relative_to(FAST):
            item.add_marker(pytest.mark.server)
