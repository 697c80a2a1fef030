"""The diffusion engine end to end on CPU with a tiny random-weight Wan VACE pipeline, built here,
saved as a diffusers folder and loaded back through the engine's own loading code."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from subject2video.engines.base import Face, GenerationRequest, NullContext
from subject2video.engines.diffusion.engine import DiffusionEngine
from subject2video.engines.diffusion.settings import DiffusionSettings
from subject2video.errors import Cancelled, EngineError
from tests.utils.images import face_rgb
from tests.utils.tiny_wan import save_tiny_model

os.environ["HF_HUB_OFFLINE"] = "1"
ASTRONAUT_FACE = Face(box=(179, 83, 267, 171), score=1.5)
STEPS = 3


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> DiffusionEngine:
    folder = save_tiny_model(tmp_path_factory.mktemp("tiny-wan"))
    settings = DiffusionSettings(
        model=folder,
        steps=STEPS,
        frames=5,
        width=32,
        height=48,
    )
    built = DiffusionEngine(settings)
    assert isinstance(built, DiffusionEngine)
    built.setup()
    return built


def _request(width: int = 720, height: int = 720, frames: int = 150) -> GenerationRequest:
    return GenerationRequest(
        image=face_rgb(), face=ASTRONAUT_FACE, prompt="a portrait", seed=3,
        width=width, height=height, frames=frames,
    )  # fmt: skip


class Recording(NullContext):
    """Records progress; the task is killed once `kill_at` steps are done."""

    def __init__(self, kill_at: int | None = None) -> None:
        super().__init__()
        self.kill_at = kill_at
        self.steps: list[tuple[int, int, str]] = []

    def progress(self, done: int, total: int, *, task: str = "Generate") -> None:
        self.steps.append((done, total, task))

    def check_cancelled(self) -> None:
        if self.kill_at is not None and len(self.steps) >= self.kill_at:
            raise Cancelled()


def test_frames_end_to_end_with_progress_per_step(engine: DiffusionEngine) -> None:
    context = Recording()
    frames = list(engine.frames(_request(1280, 720), context))
    assert len(frames) == 150
    assert all(f.shape == (720, 1280, 3) and f.dtype == np.uint8 for f in frames)
    assert context.steps == [(i, STEPS, "Generate") for i in range(1, STEPS + 1)]
    assert any("retiming 5 frames to 150" in line for line in context.lines)
    assert engine.generation_size(_request(720, 1280)) == (32, 48)
    assert engine.generation_size(_request(1280, 720)) == (48, 32)


def test_kill_lands_within_one_step(engine: DiffusionEngine) -> None:
    context = Recording(kill_at=1)
    with pytest.raises(Cancelled):
        list(engine.frames(_request(), context))
    assert context.steps == [(1, STEPS, "Generate")]
    assert engine.loaded is not None and engine.loaded.pipe.interrupt
    # The next task runs normally: the interrupt flag does not stick.
    assert len(list(engine.frames(_request(frames=7), Recording()))) == 7


def test_setup_fails_clearly_without_a_complete_folder(tmp_path: Path) -> None:
    (tmp_path / "model_index.json").write_text("{}")
    bad = DiffusionEngine(DiffusionSettings(model=tmp_path))
    with pytest.raises(EngineError) as caught:
        bad.setup()
    assert (
        str(tmp_path) in caught.value.message and "transformer/config.json" in caught.value.message
    )
    with pytest.raises(EngineError, match="4k\\+1"):
        DiffusionEngine(DiffusionSettings(frames=80))


def test_unsupported_switch_fails_at_setup(tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = save_tiny_model(tmp_path_factory.mktemp("tiny-wan-mag"))
    engine = DiffusionEngine(DiffusionSettings(model=folder, cache="mag"))
    with pytest.raises(EngineError, match="S2V_DIFFUSION_MAG_RATIOS"):
        engine.setup()
    engine = DiffusionEngine(DiffusionSettings(model=folder, offload=True))
    with pytest.raises(EngineError, match="needs a CUDA GPU"):
        engine.setup()
