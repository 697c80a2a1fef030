"""The diffusion engine at 12 s on CPU (a tiny random-weight Wan VACE): it generates twice the
frames of 6 s, not the same frames stretched, and yields exactly the frames and size asked for."""

from __future__ import annotations

import os
from pathlib import Path

from subject2video.engines.base import Face, GenerationRequest, NullContext
from subject2video.engines.diffusion.engine import DiffusionEngine
from subject2video.engines.diffusion.settings import DiffusionSettings
from tests.utils.images import face_rgb
from tests.utils.tiny_wan import save_tiny_model

os.environ["HF_HUB_OFFLINE"] = "1"


def test_twelve_seconds_generates_twice_the_frames(tmp_path: Path) -> None:
    settings = DiffusionSettings(
        model=save_tiny_model(tmp_path / "tiny-wan"),
        steps=2,
        frames=5,
        width=32,
        height=48,
    )
    engine = DiffusionEngine(settings)
    engine.setup()
    request = GenerationRequest(
        image=face_rgb(),
        face=Face(box=(179, 83, 267, 171), score=1.5),
        prompt="[Push in] a portrait",
        seed=3,
        width=480,
        height=480,
        frames=300,
    )
    context = NullContext()
    frames = list(engine.frames(request, context))
    assert len(frames) == 300 and frames[0].shape == (480, 480, 3)
    log = "\n".join(context.lines)
    assert "retiming 9 frames to 300" in log, log  # 5 frames for 6 s -> 9 (4k+1) for 12 s
    assert "The camera pushes in towards the person." in log
