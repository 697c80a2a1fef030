"""The portrait engine at another length and size: exactly the frames and size asked for, decoded
from the MP4 with PyAV, with the photo fitted to the aspect as the runner fits it."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from subject2video.engines.base import GenerationRequest, NullContext
from subject2video.engines.portrait import PortraitEngine
from subject2video.media.faces import get_analyzer
from subject2video.media.framing import fit_to_aspect
from subject2video.media.video import Mp4Writer
from tests.utils.images import face_rgb


# 9 s of the fast tier's minute: `make test` runs it.
@pytest.mark.slow
def test_four_seconds_at_1080x1920(tmp_path: Path) -> None:
    image = face_rgb()
    size = (1080, 1920)
    framed = fit_to_aspect(image, get_analyzer().subject(image), size)
    request = GenerationRequest(
        image=framed.image,
        face=framed.face,
        prompt="[Pedestal up] she smiles",
        seed=3,
        width=size[0],
        height=size[1],
        frames=100,
    )
    context = NullContext()
    path = tmp_path / "v.mp4"
    with Mp4Writer(path, *size) as writer:
        for frame in PortraitEngine().frames(request, context):
            writer.write(frame)
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 100
    assert frames[0].shape == (1920, 1080, 3)
    assert any("pedestal_up" in line for line in context.lines)
