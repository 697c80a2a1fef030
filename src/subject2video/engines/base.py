"""The engine protocol: `setup()` once per worker process, then `frames()` per task.

An engine computes; it does no I/O of its own. The runner gives it a decoded, validated image and
the subject's face, and consumes the frames it yields (encoding them as they come). Engines call
`context.check_cancelled()` between frames or diffusion steps so that a kill lands promptly, and
`context.progress()` so that callers see how far the work has come.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from subject2video.media.subject import Face
from subject2video.media.voice import Speech

__all__ = ["Engine", "Face", "GenerationContext", "GenerationRequest", "NullContext"]


@dataclass(frozen=True)
class GenerationRequest:
    """A validated request: the image (RGB, upright), its subject, and the output form."""

    image: np.ndarray
    face: Face
    prompt: str
    seed: int
    width: int
    height: int
    fps: int = 25
    frames: int = 150
    #: Any other parameters the caller gave, as given.
    extra: dict[str, Any] = field(default_factory=dict)
    #: The voice the person speaks (its audio and timed phones), or None for a silent video.
    speech: Speech | None = None
    #: (x, y, width, height) in `image`: the medium close-up a push-in named in the prompt ends
    #: on, when the subject is framed (tasks/pipeline.py): the video starts on the photo's wide
    #: view and the camera pushes in to this crop. None: no such push.
    close_up: tuple[int, int, int, int] | None = None


class GenerationContext(Protocol):
    """What the runner gives an engine while it works."""

    def progress(self, done: int, total: int, *, task: str = "Generate") -> None:
        """Report that `done` of `total` steps are finished."""

    def check_cancelled(self) -> None:
        """Raise `subject2video.errors.Cancelled` if the task has been killed."""

    def log(self, line: str) -> None:
        """Append a line to the task's debugoutput (for example the motion plan)."""


@runtime_checkable
class Engine(Protocol):
    """A video engine. `setup()` loads models once; `frames()` renders one video.

    Optional class attributes, read by `s2v serve`'s default worker count (tasks/dispatch/sizing):
    `cpu_threads` (cores one task keeps busy; 1 if absent) and `uses_gpu` (one worker per GPU).
    """

    name: str

    def setup(self) -> None:
        """Load whatever the engine needs (weights, models); called once per worker process."""

    def frames(
        self, request: GenerationRequest, context: GenerationContext
    ) -> Iterator[np.ndarray]:
        """Yield `request.frames` RGB uint8 frames of shape (height, width, 3)."""


class NullContext:
    """A context for local runs without a task: no cancellation, progress to a callback."""

    def __init__(self, on_progress: Any = None) -> None:
        self._on_progress = on_progress
        self.lines: list[str] = []

    def progress(self, done: int, total: int, *, task: str = "Generate") -> None:
        if self._on_progress is not None:
            self._on_progress(done, total)

    def check_cancelled(self) -> None:
        return None

    def log(self, line: str) -> None:
        self.lines.append(line)
