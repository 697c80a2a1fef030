"""The lock's guard: does requirements/lock.txt still answer pyproject.toml's dependency list?

`python scripts/lockfile.py stamp` records a digest of the declared dependencies (the build
system's, the project's and every extra's) as the lock's last line; `make lock` calls it after
re-resolving. `python scripts/lockfile.py check` (run by `make lint`, so by `make check`) fails
when the two disagree: a dependency was added, dropped or re-ranged in pyproject.toml and the lock
was not re-resolved, or a declared package has no pin in the lock. Stdlib only: it runs before the
venv exists, and it never resolves anything.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
LOCK = ROOT / "requirements" / "lock.txt"
TOOLS = ROOT / "requirements" / "tools.in"
MARK = "# dependency-digest: "


def declared() -> dict[str, list[str]]:
    """Every dependency list the lock is resolved from, in a canonical form."""
    meta = tomllib.loads(PYPROJECT.read_text())
    lists = {
        "build-system": meta["build-system"]["requires"],
        "project": meta["project"]["dependencies"],
        **{f"extra:{k}": v for k, v in meta["project"].get("optional-dependencies", {}).items()},
        "tools": [
            line.split("#")[0].strip()
            for line in TOOLS.read_text().splitlines()
            if line.split("#")[0].strip()
        ],
    }
    return {k: sorted(" ".join(s.split()) for s in v) for k, v in sorted(lists.items())}


def digest(groups: dict[str, list[str]] | None = None) -> str:
    groups = declared() if groups is None else groups
    return hashlib.sha256(json.dumps(groups, sort_keys=True).encode()).hexdigest()


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    if match is None:
        raise ValueError(f"cannot read a package name from {requirement!r}")
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def pinned(text: str) -> set[str]:
    return {_name(line) for line in text.splitlines() if re.match(r"^[A-Za-z0-9].*==", line)}


def check() -> list[str]:
    if not LOCK.exists():
        return [f"{LOCK.relative_to(ROOT)} is missing: run `make lock`"]
    text = LOCK.read_text()
    groups = declared()
    problems = []
    stored = [line[len(MARK) :].strip() for line in text.splitlines() if line.startswith(MARK)]
    if stored != [digest(groups)]:
        problems.append(
            "pyproject.toml's dependencies changed since requirements/lock.txt was resolved"
            " (its dependency digest differs): run `make lock` and commit the new lock"
        )
    build = groups["build-system"]
    if not set(build) <= set(groups["tools"]):
        problems.append(
            f"requirements/tools.in must repeat pyproject.toml's build-system requires {build}"
        )
    have = pinned(text)
    for group, requirements in groups.items():
        for requirement in requirements:
            if _name(requirement) not in have:
                problems.append(f"{requirement!r} ({group}) has no pin in requirements/lock.txt")
    return problems


def stamp() -> None:
    lines = [line for line in LOCK.read_text().splitlines() if not line.startswith(MARK)]
    LOCK.write_text("\n".join([*lines, f"{MARK}{digest()}", ""]))


def main(argv: list[str]) -> int:
    if argv == ["stamp"]:
        stamp()
        return 0
    if argv == ["check"]:
        problems = check()
        for problem in problems:
            print(f"lock check: {problem}", file=sys.stderr)
        return 1 if problems else 0
    print("usage: python scripts/lockfile.py check|stamp", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
