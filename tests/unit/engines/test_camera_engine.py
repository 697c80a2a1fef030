"""Unit tests for the camera engine: frame count and shape, a visible push-in, cancellation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from subject2video.engines.base import Engine, Face, GenerationRequest, NullContext
from subject2video.engines.camera import CameraEngine, PushIn
from subject2video.engines.registry import create_engine
from subject2video.errors import Cancelled
from tests.utils.images import face_rgb

#: The astronaut's face as the analyser finds it; fixed here so these tests need no face models.
ASTRONAUT_FACE = Face(box=(179, 83, 267, 171), score=1.5)


def request(width: int = 720, height: int = 720, frames: int = 150) -> GenerationRequest:
    return GenerationRequest(
        image=face_rgb(),
        face=ASTRONAUT_FACE,
        prompt="",
        seed=0,
        width=width,
        height=height,
        frames=frames,
    )


class CancelAfter(NullContext):
    """A context whose task is killed once `limit` frames are done."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.done = 0

    def progress(self, done: int, total: int, *, task: str = "Generate") -> None:
        self.done = done

    def check_cancelled(self) -> None:
        if self.done >= self.limit:
            raise Cancelled()


def test_registered_and_follows_the_protocol() -> None:
    engine = create_engine("camera")
    assert isinstance(engine, CameraEngine) and isinstance(engine, Engine)
    assert engine.name == "camera"


def test_yields_every_frame_with_progress_and_a_log_line() -> None:
    seen: list[tuple[int, int]] = []
    context = NullContext(on_progress=lambda done, total: seen.append((done, total)))
    engine = CameraEngine()
    engine.setup()
    frames = list(engine.frames(request(), context))
    assert len(frames) == 150
    assert all(frame.shape == (720, 720, 3) and frame.dtype == np.uint8 for frame in frames)
    assert seen == [(index, 150) for index in range(1, 151)]
    assert len(context.lines) == 1 and "push-in" in context.lines[0]


def test_pushes_in_towards_the_face() -> None:
    frames = list(CameraEngine().frames(request(), NullContext()))
    first, middle, last = frames[0], frames[75], frames[-1]
    assert not np.array_equal(first, last)
    # At zoom 1 the 512 px picture fills 720 px: the face keeps the picture's proportions.
    plan = PushIn.towards((512, 512), ASTRONAUT_FACE.center, (720, 720), zoom=1.18, frames=150)
    for index, expected_zoom in ((0, 1.0), (75, 1.09), (149, 1.18)):
        assert plan.at(index)[2] == pytest.approx(expected_zoom, abs=0.005)
    # The face's on-screen width grows with the zoom; measure it through the affine maps.
    widths = [plan.matrix(index, 720)[0, 0] * ASTRONAUT_FACE.width for index in (0, 75, 149)]
    assert widths[0] < widths[1] < widths[2]
    assert widths[2] / widths[0] == pytest.approx(1.18, rel=0.01)
    # Consecutive frames differ only a little: a slow, smooth move.
    steps = [np.abs(a.astype(int) - b.astype(int)).mean() for a, b in itertools.pairwise(frames)]
    assert max(steps) < 6.0
    assert np.abs(middle.astype(int) - first.astype(int)).mean() > 5.0


def test_face_region_grows_in_the_picture() -> None:
    frames = list(CameraEngine().frames(request(), NullContext()))

    def face_tile(frame: np.ndarray, index: int) -> np.ndarray:
        plan = PushIn.towards((512, 512), ASTRONAUT_FACE.center, (720, 720), zoom=1.18, frames=150)
        matrix = plan.matrix(index, 720)
        left, top, right, bottom = ASTRONAUT_FACE.box
        x0, y0 = matrix @ np.array([left, top, 1.0])
        x1, y1 = matrix @ np.array([right, bottom, 1.0])
        return frame[round(y0) : round(y1), round(x0) : round(x1)]

    first, last = face_tile(frames[0], 0), face_tile(frames[-1], 149)
    assert last.shape[0] > first.shape[0] * 1.15 and last.shape[1] > first.shape[1] * 1.15
    # The tile really holds the face at both ends: skin tones, not the background.
    assert abs(first.mean() - last.mean()) < 10


def test_deterministic() -> None:
    one = list(CameraEngine().frames(request(frames=5), NullContext()))
    two = list(CameraEngine().frames(request(frames=5), NullContext()))
    assert all(np.array_equal(a, b) for a, b in zip(one, two, strict=True))


def test_landscape_output_from_a_large_photo() -> None:
    big = np.ascontiguousarray(np.tile(face_rgb(), (4, 7, 1)))  # 3584x2048
    face = Face(box=(179 + 512 * 3, 83 + 512, 267 + 512 * 3, 171 + 512))
    frames = list(
        CameraEngine().frames(
            GenerationRequest(
                image=big, face=face, prompt="", seed=0, width=1260, height=720, frames=3
            ),
            NullContext(),
        )
    )
    assert [frame.shape for frame in frames] == [(720, 1260, 3)] * 3


def test_cancel_stops_the_generator() -> None:
    context = CancelAfter(limit=10)
    produced = []
    with pytest.raises(Cancelled):
        for frame in CameraEngine().frames(request(), context):
            produced.append(frame)
    assert len(produced) == 10
