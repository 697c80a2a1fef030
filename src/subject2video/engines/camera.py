"""The camera engine: a slow, eased push-in over the still photo, towards the subject's face.

It moves a virtual camera and nothing else: no model, no weights, one affine warp per frame. It is
the fastest honest engine, and the baseline the animated engines are measured against.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from subject2video.engines.base import GenerationContext, GenerationRequest

logger = logging.getLogger(__name__)


def ease_in_out(t: float) -> float:
    """Cosine ease: 0 at t=0, 1 at t=1, with zero speed at both ends."""
    return (1.0 - math.cos(math.pi * min(1.0, max(0.0, t)))) / 2.0


@dataclass(frozen=True)
class PushIn:
    """A push-in from the whole picture towards a point, in source-image pixels."""

    #: Width and height of the view at zoom 1: the largest rectangle of the output's aspect.
    view: tuple[float, float]
    start: tuple[float, float]
    end: tuple[float, float]
    zoom: float
    frames: int

    @classmethod
    def towards(
        cls,
        image_size: tuple[int, int],
        target: tuple[float, float],
        output_size: tuple[int, int],
        *,
        zoom: float,
        frames: int,
    ) -> PushIn:
        """Plan a push-in on an image of (w, h) towards `target`, for an output of (w, h)."""
        image_w, image_h = image_size
        aspect = output_size[0] / output_size[1]
        view_w = min(float(image_w), image_h * aspect)
        view_h = view_w / aspect
        # Clamp the end so that the last view stays inside the picture; the eased path between
        # the centre and a clamped end then stays inside at every zoom on the way.
        half_w, half_h = view_w / zoom / 2, view_h / zoom / 2
        end = (
            min(max(target[0], half_w), image_w - half_w),
            min(max(target[1], half_h), image_h - half_h),
        )
        start = (image_w / 2, image_h / 2)
        return cls(view=(view_w, view_h), start=start, end=end, zoom=zoom, frames=frames)

    def at(self, index: int) -> tuple[float, float, float]:
        """Centre x, centre y and zoom of frame `index`."""
        t = index / (self.frames - 1) if self.frames > 1 else 1.0
        e = ease_in_out(t)
        x = self.start[0] + (self.end[0] - self.start[0]) * e
        y = self.start[1] + (self.end[1] - self.start[1]) * e
        return x, y, 1.0 + (self.zoom - 1.0) * e

    def matrix(self, index: int, output_width: int, scale: float = 1.0) -> np.ndarray:
        """The 2x3 affine that maps a source image resized by `scale` onto output frame `index`."""
        x, y, zoom = self.at(index)
        view_w = self.view[0] / zoom * scale
        view_h = self.view[1] / zoom * scale
        left, top = x * scale - view_w / 2, y * scale - view_h / 2
        k = output_width / view_w
        # Pixel centres map to pixel centres: dst + 0.5 = k * (src + 0.5 - left).
        return np.array(
            [[k, 0.0, k * (0.5 - left) - 0.5], [0.0, k, k * (0.5 - top) - 0.5]], dtype=np.float64
        )

    def describe(self) -> str:
        """One line for the task's debug output."""
        return (
            f"camera: eased push-in, zoom 1.00 -> {self.zoom:.2f} over {self.frames} frames, "
            f"centre ({self.start[0]:.0f}, {self.start[1]:.0f}) -> "
            f"({self.end[0]:.0f}, {self.end[1]:.0f}) in source pixels"
        )


class CameraEngine:
    """Frames the subject's face and pushes a virtual camera slowly in towards it."""

    name = "camera"
    #: Cores one task keeps busy, encoding included (S2V_WORKERS' default): measured 0.6-0.7 CPU
    #: seconds per wall second on a shared 2-core machine (benchmarks/workers_bench.py), so one.
    cpu_threads = 1.0

    def __init__(self, zoom: float = 1.18) -> None:
        if not 1.0 <= zoom <= 3.0:
            raise ValueError(f"zoom must be between 1.0 and 3.0, got {zoom}")
        self.zoom = zoom

    def setup(self) -> None:
        """Nothing to load."""

    def frames(
        self, request: GenerationRequest, context: GenerationContext
    ) -> Iterator[np.ndarray]:
        """Yield `request.frames` RGB frames of the push-in, checking for a kill before each."""
        height, width = request.image.shape[:2]
        size = (request.width, request.height)
        plan = PushIn.towards(
            (width, height),
            request.face.center,
            size,
            zoom=zoom_for(self.zoom, request.frames / request.fps),
            frames=request.frames,
        )
        context.log(f"{plan.describe()}, face at {request.face.box}, output {size[0]}x{size[1]}")
        source, scale = _working_image(request.image, plan.view[0], request.width * plan.zoom)
        # OpenCV's bilinear warp has a vector path for 4-channel bytes only: warping RGBA and
        # dropping the alpha is bit-identical to warping RGB and about 2.5 times faster.
        source = cv2.cvtColor(source, cv2.COLOR_RGB2RGBA)
        for index in range(request.frames):
            context.check_cancelled()
            frame = cv2.warpAffine(
                source,
                plan.matrix(index, request.width, scale),
                size,
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REFLECT_101,
            )
            yield cv2.cvtColor(frame, cv2.COLOR_RGBA2RGB)
            context.progress(index + 1, request.frames)


#: The length the engine's zoom is set for; other lengths keep its speed (up to MAX_ZOOM).
ZOOM_SECONDS = 6.0
MAX_ZOOM = 1.4


def zoom_for(zoom: float, seconds: float) -> float:
    """The push-in's end zoom for a video of `seconds`: the same speed as over 6 s, so a 12 s
    video pushes further rather than moving at half the speed (capped at MAX_ZOOM)."""
    return (
        min(max(zoom, MAX_ZOOM), 1.0 + (zoom - 1.0) * seconds / ZOOM_SECONDS) if zoom > 1 else 1.0
    )


def _working_image(image: np.ndarray, view_width: float, needed: float) -> tuple[np.ndarray, float]:
    """The image, shrunk once (area filter) where it is larger than the closest view needs.

    Bilinear warping aliases when it shrinks by much; after this, every frame's warp scales by
    between 1/zoom and 1 (or enlarges, for small photos), where bilinear is clean.
    """
    scale = needed / view_width
    if scale >= 1.0:
        return np.ascontiguousarray(image), 1.0
    height, width = image.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # Use the scale actually achieved so that the view stays where it was planned.
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), size[0] / width
