"""A cache of costly test values that the pytest-xdist workers of one run share.

Under `pytest -n 2` each worker is its own process, so `functools.cache` alone makes each portrait
video's report once per worker, and the fast tier spends a third of its time twice. The first
worker to ask computes the value under a file lock and pickles it into a folder named after the
run (xdist gives all workers of a run the same PYTEST_XDIST_TESTRUNUID) in the temporary
directory; the others wait on the lock and load it. Without xdist it is `functools.cache`.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def shared(fn: Callable[..., T]) -> Callable[..., T]:
    """Memoise `fn` in this process and, under xdist, across the run's workers."""

    @functools.cache
    @functools.wraps(fn)
    def cached(*args: Any, **kwargs: Any) -> T:
        run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
        if not run:
            return fn(*args, **kwargs)
        folder = Path(tempfile.gettempdir()) / f"s2v-tests-{run}"
        folder.mkdir(exist_ok=True)
        call = repr((fn.__module__, fn.__qualname__, args, sorted(kwargs.items())))
        key = hashlib.sha256(call.encode()).hexdigest()[:32]
        path = folder / f"{key}.pickle"
        with (folder / f"{key}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if path.exists():
                return pickle.loads(path.read_bytes())
            value = fn(*args, **kwargs)
            path.with_suffix(".part").write_bytes(pickle.dumps(value))
            path.with_suffix(".part").replace(path)
            return value

    return cached
