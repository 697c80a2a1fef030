"""Print the hardening figures that the security tests recorded (artifacts/security-figures.json).

Run `make test` (or `pytest tests/security tests/unit`) first, then
`python -m benchmarks.security_report`.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.utils.figures import load


def report() -> str:
    """The figures as a markdown table, one row per check."""
    rows = ["| check | tried | handled | got through |", "|---|---:|---:|---:|"]
    for check, counts in sorted(load().items()):
        rows.append(
            f"| {check} | {counts['tried']} | {counts['handled']} | {counts['got_through']} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    print(report())
