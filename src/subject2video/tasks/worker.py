"""A worker process's life: load the engine once, then run task ids as they arrive."""

from __future__ import annotations

import ctypes
import logging
import os
import queue
import signal
from typing import Any

from subject2video.config import Settings
from subject2video.engines.registry import create_engine
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


def local_worker_main(
    settings_data: dict[str, Any], tasks: Any, events: Any, kill: Any, prefix: str = "local"
) -> None:
    """Entry point of a supervised engine process (multiprocessing, spawn): `s2v serve`'s local
    worker, or the child of an `s2v worker`."""
    # The parent stops us; a Ctrl-C in the terminal must not kill a task halfway by itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    settings = Settings(**settings_data)
    if settings.worker_device is not None:
        # Before the engine loads: CUDA reads it once, at its first use in this process.
        os.environ["CUDA_VISIBLE_DEVICES"] = settings.worker_device
    configure_logging(settings)
    store = Store(settings.db_url)

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
    while True:
        try:
            task_id = tasks.get(timeout=1.0)
        except queue.Empty:
            if os.getppid() == 1:  # the server is gone
                return
            continue
        if task_id is None:
            return
        events.put({"kind": "busy", "task_id": task_id})
        runner.run(task_id)
        events.put({"kind": "idle", "task_id": task_id})
