"""Engines for tests, loaded by import path (S2V_ENGINE=tests.utils.engines:PacedCameraEngine).

The camera engine finishes in about a second; tests of kill, cancel and restart need a task that is
still running when they act, so this one paces the real camera engine's frames.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator

import numpy as np

from subject2video.engines.base import GenerationContext, GenerationRequest
from subject2video.engines.camera import CameraEngine


class PacedCameraEngine(CameraEngine):
    """The camera engine, sleeping S2V_TEST_FRAME_DELAY seconds (default 0.05) per frame."""

    name = "paced-camera"

    def frames(
        self, request: GenerationRequest, context: GenerationContext
    ) -> Iterator[np.ndarray]:
        delay = float(os.environ.get("S2V_TEST_FRAME_DELAY", "0.05"))
        for frame in super().frames(request, context):
            time.sleep(delay)
            yield frame


#: What the stubborn engine writes to debugoutput when it stops answering kills.
STUBBORN_LINE = "stubborn engine: ignoring kills from here"


class StubbornEngine(CameraEngine):
    """Ignores kills (as a stuck native call would) on prompts containing "hang": only ending the
    worker process stops it. Other prompts run as the camera engine."""

    name = "stubborn"

    def frames(
        self, request: GenerationRequest, context: GenerationContext
    ) -> Iterator[np.ndarray]:
        for i, frame in enumerate(super().frames(request, context)):
            if i == 10 and "hang" in request.prompt:
                context.log(STUBBORN_LINE)  # a test waits for this line before it kills
                time.sleep(3600)
            yield frame


class PromptPacedEngine(CameraEngine):
    """The camera engine, sleeping per frame the seconds that the prompt names ("pace=0.04").

    One worker fleet then serves both quick tasks and tasks slow enough to be caught running.
    """

    name = "prompt-paced"

    def frames(
        self, request: GenerationRequest, context: GenerationContext
    ) -> Iterator[np.ndarray]:
        match = re.search(r"pace=([0-9.]+)", request.prompt)
        delay = float(match.group(1)) if match else 0.0
        for frame in super().frames(request, context):
            if delay:
                time.sleep(delay)
            yield frame
