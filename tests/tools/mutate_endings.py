"""Mutation check of the task endings: each ending path loses its final transition, event or
callback in turn, and the in-process tests must fail for every one.

    .venv/bin/python tests/tools/mutate_endings.py

Each mutation edits one source file, runs tests/unit/tasks, and restores the file (also on
Ctrl-C). Prints one row per mutation and exits 1 if any mutation survived.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PKG = REPO / "src" / "subject2video" / "tasks"


@dataclass(frozen=True)
class Mutation:
    path: str
    what: str
    old: str
    new: str


MUTATIONS = [
    Mutation(
        "lifecycle.py",
        "every path: no final transition",
        "if not self.store.transition(\n",
        "if False and self.store.transition(\n",
    ),
    Mutation(
        "lifecycle.py",
        "every path: no final event (cancel)",
        "self.publish(Event(to.value, task_id, task.socketaccesstoken))",
        "pass",
    ),
    Mutation(
        "lifecycle.py",
        "every path: no final event (done)",
        "self.publish(Event(to.value, task_id, task.socketaccesstoken, message))",
        "pass",
    ),
    Mutation(
        "lifecycle.py",
        "every path: no final event (failed)",
        "self.publish(Event(to.value, task_id, task.socketaccesstoken, []))",
        "pass",
    ),
    Mutation(
        "lifecycle.py",
        "every path: no callback",
        "callbacks.enqueue(self.store, self.settings, task_id)",
        "pass",
    ),
    Mutation(
        "runner.py",
        "done: no ending",
        "if not self.lifecycle.done(",
        "if False and self.lifecycle.done(",
    ),
    Mutation(
        "runner.py",
        "failed (service error): no ending",
        "self.lifecycle.fail(task.id, exc.message, exc.failure, holder=task.claim)",
        "pass",
    ),
    Mutation(
        "runner.py",
        "failed (crash): no ending",
        "self.lifecycle.fail(task.id, reason, Failure.engine, holder=task.claim)",
        "pass",
    ),
    Mutation(
        "runner.py",
        "killed (seen by the runner): no ending",
        "self.lifecycle.cancel(task.id, holder=task.claim)",
        "pass",
    ),
    Mutation(
        "service.py",
        "cancelled: no final transition",
        'self.lifecycle.cancel(task.id, allowed_from=CANCELLABLE, how="cancelled")',
        "self.store.get(task.id)",
    ),
    Mutation(
        "service.py",
        "cancelled: transition only, no event or callback",
        'self.lifecycle.cancel(task.id, allowed_from=CANCELLABLE, how="cancelled")',
        "self.store.transition(task.id, Status.cancel, allowed_from=CANCELLABLE)",
    ),
    Mutation(
        "service.py",
        "killed: no final transition",
        'self.lifecycle.cancel(task.id, allowed_from=UNFINISHED, how="killed")',
        "self.store.get(task.id)",
    ),
    Mutation(
        "service.py",
        "killed: transition only, no event or callback",
        'self.lifecycle.cancel(task.id, allowed_from=UNFINISHED, how="killed")',
        "self.store.transition(task.id, Status.cancel, allowed_from=UNFINISHED)",
    ),
    Mutation(
        "dispatch/supervisor.py",
        "kill ignored: no ending",
        "self.lifecycle.cancel(task_id)",
        "pass",
    ),
    Mutation(
        "dispatch/supervisor.py",
        "worker died: no recovery",
        'self.lifecycle.recover(worker=f"{self.prefix}-{proc.pid}")',
        "pass",
    ),
    Mutation("dispatch/local.py", "start-up: no recovery", "self.lifecycle.recover()", "pass"),
    Mutation(
        "reaper.py",
        "reaped: no recovery",
        "recovery = self.lifecycle.recover(worker=worker)",
        'recovery = self.lifecycle.recover(worker="nobody")',
    ),
]


def run(mutation: Mutation) -> bool:
    """Apply `mutation`, run the in-process task tests; True if they failed (mutation caught)."""
    path = PKG / mutation.path
    original = path.read_text()
    if original.count(mutation.old) != 1:
        raise SystemExit(f"{mutation.path}: {mutation.old!r} is not there exactly once")
    try:
        path.write_text(original.replace(mutation.old, mutation.new))
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-x",
                "-p",
                "no:cacheprovider",
                "tests/unit/tasks",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        path.write_text(original)
    return result.returncode != 0


def main() -> int:
    survived = 0
    for mutation in MUTATIONS:
        caught = run(mutation)
        survived += not caught
        print(f"{'caught  ' if caught else 'SURVIVED'}  {mutation.path:24} {mutation.what}")
    print(f"{len(MUTATIONS) - survived} of {len(MUTATIONS)} mutations caught")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
