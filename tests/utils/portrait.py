"""Portrait videos for tests, made once per session and shared: the engine's frames in memory."""

from __future__ import annotations

import functools
import math

import numpy as np

from subject2video.engines.base import GenerationRequest, NullContext
from subject2video.engines.portrait import PortraitEngine
from subject2video.media.faces import get_analyzer
from subject2video.media.video import output_size
from subject2video.quality import Report, Signals, evaluate
from subject2video.quality.track import track
from tests.utils.images import face_rgb, second_face_rgb
from tests.utils.shared_cache import shared


def face(which: str) -> np.ndarray:
    """The astronaut, Eileen Collins, or for `which="hopper"` Grace Hopper."""
    return face_rgb() if which == "astronaut" else second_face_rgb()


def request(prompt: str, which: str = "astronaut", seed: int = 7) -> GenerationRequest:
    image = face(which)
    subject = get_analyzer().subject(image)
    width, height = output_size(image.shape[1], image.shape[0])
    return GenerationRequest(
        image=image, face=subject, prompt=prompt, seed=seed, width=width, height=height
    )


@functools.cache
def frames(prompt: str, which: str = "astronaut", seed: int = 7) -> np.ndarray:
    """The 150 frames the portrait engine makes for a prompt (cached for the session)."""
    context = NullContext()
    return np.stack(list(PortraitEngine().frames(request(prompt, which, seed), context)))


@shared
def report(prompt: str, which: str = "astronaut", identity_step: int = 15) -> Report:
    """The quality report of `frames(prompt, which)` (cached; shared by xdist workers)."""
    return evaluate(
        iter(frames(prompt, which)), face(which), prompt=prompt, identity_step=identity_step
    )


@shared
def signals(prompt: str, which: str = "astronaut") -> Signals:
    """The motion signals of `frames(prompt, which)`, for checks its prompt does not name."""
    analyzer = get_analyzer()
    return Signals(track(iter(frames(prompt, which)), analyzer))


def turn_points(points: np.ndarray, degrees: float) -> np.ndarray:
    """A face mesh's points (468, 3) turned about the vertical axis through the middle of its
    cheek extremes (234, 454); negative: the nose towards screen left."""
    p = np.asarray(points, np.float64).copy()
    centre = p[[234, 454]].mean(0)
    angle = math.radians(degrees)
    x, z = p[:, 0] - centre[0], p[:, 2] - centre[2]
    p[:, 0] = centre[0] + x * math.cos(angle) + z * math.sin(angle)
    p[:, 2] = centre[2] - x * math.sin(angle) + z * math.cos(angle)
    return p
