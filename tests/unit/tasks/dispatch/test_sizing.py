"""How many engine processes `s2v serve` starts, and the GPU each is pinned to."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from subject2video.engines.camera import CameraEngine
from subject2video.tasks.dispatch.sizing import usable_cores, worker_plan
from tests.unit.tasks.conftest import make_settings


class FourCoreEngine(CameraEngine):
    """An engine whose task keeps four cores busy."""

    cpu_threads = 4.0


def test_explicit_count_wins(tmp_path: Path) -> None:
    plan = worker_plan(make_settings(tmp_path, workers=3))
    assert (plan.count, plan.devices) == (3, (None, None, None))
    assert worker_plan(make_settings(tmp_path, workers=3), workers=1).count == 1


def test_cpu_default_divides_the_cores_by_the_engines_threads(tmp_path: Path) -> None:
    camera = worker_plan(make_settings(tmp_path, workers=0))
    assert camera.count == usable_cores()  # one core per camera task
    four = worker_plan(make_settings(tmp_path, workers=0, engine=f"{__name__}:FourCoreEngine"))
    assert four.count == max(1, math.floor(usable_cores() / 4))
    assert four.reason == f"{usable_cores()} cores / 4 cores per {__name__}:FourCoreEngine task"


def test_gpu_engine_one_per_visible_gpu_each_pinned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,5")
    settings = make_settings(tmp_path, workers=0, engine="diffusion")
    plan = worker_plan(settings)
    assert (plan.count, plan.devices) == (2, ("2", "5"))
    assert [s.worker_device for s in plan.child_settings(settings)] == ["2", "5"]
    # More workers than GPUs share them round-robin; with none visible, one unpinned worker.
    assert worker_plan(settings, workers=3).devices == ("2", "5", "2")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert worker_plan(settings).devices == (None,)
