"""A worker process's life: load the engine once, then run task ids as they arrive."""

from __future__ import annotations

import ctypes
import itertools
import logging
import os
import queue
import signal
import time
from typing import Any

from subject2video.config import Settings
from subject2video.engines.registry import create_engine
from subject2video.errors import StorageError
from subject2video.logs import configure_logging
from subject2video.tasks.events import Event
from subject2video.tasks.runner import Runner
from subject2video.tasks.store import Store

logger = logging.getLogger(__name__)


def build_runner(settings: Settings, store: Store, **kwargs: Any) -> Runner:
    """A runner with its engine loaded (the slow part of a worker's start)."""
    engine = create_engine(settings.engine, settings)
    engine.setup()
    return Runner(settings, store, engine, **kwargs)


def _die_with_parent() -> None:
    """On Linux, have the kernel end this process when the server process dies (even by -9)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


#: Seconds between tries of a task while storage is unfit for work (doubling up to the last).
STORAGE_WAITS = (0.5, 1.0, 2.0, 5.0)


def run_patiently(runner: Runner, task_id: int, halt: Any = None) -> None:
    """Run `task_id`; while storage is unfit for work, wait and try again (the task stays queued,
    or is put back), until it runs or a stop is asked. Any other failure of the runner's own
    bookkeeping is logged, never the end of the worker."""
    for attempt in itertools.count():
        try:
            runner.run(task_id)
            return
        except StorageError as exc:
            wait = STORAGE_WAITS[min(attempt, len(STORAGE_WAITS) - 1)]
            if attempt == 0:
                extra = {"task_id": task_id}
                logger.warning("storage unfit; the task waits: %s", exc.message, extra=extra)
        except Exception:
            logger.exception("runner failed outside a task", extra={"task_id": task_id})
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if (halt is not None and halt.value) or runner.kill_flag(task_id):
                return
            time.sleep(0.1)


def local_worker_main(
    settings_data: dict[str, Any],
    tasks: Any,
    events: Any,
    kill: Any,
    prefix: str = "local",
    halt: Any = None,
) -> None:
    """Entry point of a supervised engine process (multiprocessing, spawn): `s2v serve`'s local
    worker, or the child of an `s2v worker`. `halt`, when set, asks it to take no further task
    and exit (a graceful stop)."""
    # The parent decides when we stop: a Ctrl-C in the terminal, or a SIGTERM or SIGHUP sent to
    # the whole process group (systemd, Docker), must not end a task halfway by itself.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    _die_with_parent()
    settings = Settings(**settings_data)
    if settings.worker_device is not None:
        # Before the engine loads: CUDA reads it once, at its first use in this process.
        os.environ["CUDA_VISIBLE_DEVICES"] = settings.worker_device
    configure_logging(settings)
    store = Store(settings.db_url, busy_timeout=settings.db_busy_timeout_seconds)

    def publish(event: Event) -> None:
        events.put({"kind": "event", **event.to_dict()})

    runner = build_runner(
        settings,
        store,
        publish=publish,
        kill_flag=lambda task_id: kill.value == task_id,
        worker=f"{prefix}-{os.getpid()}",
    )
    events.put({"kind": "ready", "pid": os.getpid()})
    logger.info("worker ready", extra={"engine": settings.engine, "pid": os.getpid()})
    while halt is None or not halt.value:
        try:
            task_id = tasks.get(timeout=0.2)
        except queue.Empty:
            if os.getppid() == 1:  # the server is gone
                return
            continue
        if task_id is None or (halt is not None and halt.value):
            return
        events.put({"kind": "busy", "task_id": task_id})
        run_patiently(runner, task_id, halt)
        events.put({"kind": "idle", "task_id": task_id})
