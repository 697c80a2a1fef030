"""Hardening figures: each security check records how many inputs it tried and how they fared.

Counts go to artifacts/security-figures.json (git-ignored), one entry per check, replaced on each
run; `python -m benchmarks.security_report` prints them as the table in README and SECURITY.md.
"""

from __future__ import annotations

import fcntl
import json
from pathlib import Path
from typing import Any

FIGURES = Path(__file__).resolve().parents[2] / "artifacts" / "security-figures.json"


def record(check: str, *, tried: int, handled: int, got_through: int = 0, **extra: Any) -> None:
    """Store the counts of one check: inputs tried, refused or answered cleanly, got through."""
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    with FIGURES.with_suffix(".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        figures = load()
        figures[check] = {"tried": tried, "handled": handled, "got_through": got_through, **extra}
        FIGURES.write_text(json.dumps(figures, indent=2, sort_keys=True))


def load() -> dict[str, dict[str, Any]]:
    """Every check's counts recorded so far."""
    try:
        return json.loads(FIGURES.read_text())
    except (OSError, ValueError):
        return {}
