"""How many engine processes `s2v serve` starts (`--workers`, `S2V_WORKERS`), and on which GPU.

- Set explicitly: that many, on any engine.
- A GPU engine (an engine class with `uses_gpu = True`, the diffusion engine): one per visible GPU,
  each child pinned to its own device with `CUDA_VISIBLE_DEVICES`; with no GPU visible, one.
- A CPU engine: the machine's cores divided by the cores one task keeps busy (the engine class's
  `cpu_threads`, measured: CPU seconds per wall second of a task, encoding included; 1 for an
  engine that does not say), at least 1.

The parent never imports torch or touches CUDA: GPUs are counted from `CUDA_VISIBLE_DEVICES`, else
from the NVIDIA driver's `/proc/driver/nvidia/gpus`.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

from subject2video.config import Settings
from subject2video.engines.registry import engine_class

logger = logging.getLogger(__name__)

#: Where the NVIDIA driver lists the GPUs it manages, one folder each.
NVIDIA_GPUS = Path("/proc/driver/nvidia/gpus")


@dataclass(frozen=True)
class WorkerPlan:
    """How many engine processes to start, and the GPU each one is pinned to (None: not pinned)."""

    count: int
    devices: tuple[str | None, ...]
    #: How the count was chosen, for the start-up log and `s2v serve --help`'s reader.
    reason: str

    def child_settings(self, settings: Settings) -> list[Settings]:
        """Each child's settings: the server's, with its own GPU where one is pinned."""
        return [settings.model_copy(update={"worker_device": device}) for device in self.devices]


def visible_gpus() -> list[str]:
    """The GPU ids this process may use, without initialising CUDA."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [d.strip() for d in listed.split(",") if d.strip() and d.strip() != "-1"]
    try:
        count = sum(1 for _ in NVIDIA_GPUS.iterdir())
    except OSError:
        return []
    return [str(i) for i in range(count)]


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def worker_plan(settings: Settings, workers: int | None = None) -> WorkerPlan:
    """The plan for `workers` (or `S2V_WORKERS`; None or 0: the default for the engine)."""
    requested = workers if workers is not None else settings.workers
    cls = engine_class(settings.engine)
    gpus = visible_gpus() if getattr(cls, "uses_gpu", False) else []
    if requested:
        devices = tuple(gpus[i % len(gpus)] if gpus else None for i in range(requested))
        return WorkerPlan(requested, devices, "set by --workers or S2V_WORKERS")
    if getattr(cls, "uses_gpu", False):
        if not gpus:
            return WorkerPlan(1, (None,), "a GPU engine and no visible GPU: one worker")
        return WorkerPlan(len(gpus), tuple(gpus), f"one per visible GPU ({','.join(gpus)})")
    threads = float(getattr(cls, "cpu_threads", 1.0) or 1.0)
    cores = usable_cores()
    count = max(1, math.floor(cores / max(threads, 1.0)))
    reason = f"{cores} cores / {threads:g} cores per {settings.engine} task"
    return WorkerPlan(count, (None,) * count, reason)
