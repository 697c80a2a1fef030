"""The portrait engine: the person in the photo comes alive, on any CPU.

1. analysis: the photo at output size, the subject's 68 landmarks, head pose;
2. matte: the subject's alpha (GrabCut from a landmark prior) and the background plate;
3. plan: the prompt read into per-frame motion curves (logged to the task's debugoutput);
4. render: per frame, the mesh deformed by the plan, one remap, the subject over the plate,
   then the camera.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator

import cv2
import numpy as np

from subject2video.engines.base import GenerationContext, GenerationRequest
from subject2video.engines.portrait.matte import FaceGeometry, background_plate, subject_matte
from subject2video.engines.portrait.mesh import Rig
from subject2video.engines.portrait.plan import MotionPlan, plan_motion
from subject2video.engines.portrait.render import Renderer, camera_matrix

logger = logging.getLogger(__name__)


class PortraitEngine:
    """Animates the subject of a face photo as the prompt asks; the background stays still."""

    name = "portrait"
    #: Cores one task keeps busy, encoding included (S2V_WORKERS' default): measured 0.5-0.7 CPU
    #: seconds per wall second on a shared 2-core machine (benchmarks/workers_bench.py), so one.
    cpu_threads = 1.0

    def __init__(self, prefetch: bool = False) -> None:
        #: Render the next frames in a thread while the caller encodes this one. Off by default:
        #: on two busy cores it gained nothing in two of three benchmark runs (README).
        self.prefetch = prefetch
        #: Seconds spent in each stage of the last video (render includes the consumer's time).
        self.timings: dict[str, float] = {}
        self.plan: MotionPlan | None = None

    def setup(self) -> None:
        """Load the face models now rather than on the first task."""
        from subject2video.media.faces import get_analyzer

        get_analyzer()

    def frames(
        self, request: GenerationRequest, context: GenerationContext
    ) -> Iterator[np.ndarray]:
        """Yield `request.frames` RGB frames of the animated portrait."""
        size = (request.width, request.height)
        started = time.perf_counter()
        image, landmarks = _analyse(request, size)
        geo = FaceGeometry.of(landmarks)
        self.timings = {"analysis": time.perf_counter() - started}
        context.check_cancelled()

        mark = time.perf_counter()
        alpha = subject_matte(image, geo)
        plate = background_plate(image, alpha, grow=int(0.06 * geo.width) + 6)
        self.timings["matte"] = time.perf_counter() - mark
        context.check_cancelled()

        mark = time.perf_counter()
        plan = plan_motion(request.prompt, request.seed, request.frames, request.fps)
        rig = Rig.build(geo, alpha)
        renderer = Renderer(image, alpha, plate, rig)
        self.plan = plan
        self.timings["plan"] = time.perf_counter() - mark
        context.log(plan.describe())
        context.log(
            f"portrait: face {geo.width:.0f} px wide at ({geo.center[0]:.0f}, "
            f"{geo.center[1]:.0f}); matte {100 * float(alpha.mean()):.0f}% of the frame; "
            f"mesh {len(rig.rest)} vertices, {len(rig.triangles)} triangles"
        )
        moving = np.any(plan.curves["pan"]) or np.any(plan.curves["lift"])
        target = (size[0] / 2, size[1] / 2) if moving else geo.center

        body = _BodyMaps(renderer, rig, plan)

        def render(index: int) -> np.ndarray:
            values = plan.at(index)
            positions = rig.positions(values)
            frame = renderer.render(positions, values["mouth"], body.at(index))
            matrix = camera_matrix(size, target, values["zoom"], values["pan"], values["lift"])
            if matrix is not None:
                frame = cv2.warpAffine(
                    frame, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
                )
            return cv2.cvtColor(frame, cv2.COLOR_RGBA2RGB)

        mark = time.perf_counter()
        count = request.frames
        frames = _ahead(render, count) if self.prefetch else map(render, range(count))
        for index, frame in enumerate(frames):
            context.check_cancelled()
            yield frame
            context.progress(index + 1, count)
        self.timings["render"] = time.perf_counter() - mark
        context.log(
            "portrait timings: "
            + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in self.timings.items())
        )


class _BodyMaps:
    """The coarse (whole-subject) remap tables, made for even frames and blended for odd ones.

    Head and body move smoothly at 25 fps, so halfway tables are as good as made ones there; the
    face's own grid (blinks, lips) is still made for every frame. This halves the costliest step.
    """

    def __init__(self, renderer: Renderer, rig: Rig, plan: MotionPlan) -> None:
        self.renderer, self.rig, self.plan = renderer, rig, plan
        self.made: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _made(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if index not in self.made:
            positions = self.rig.positions(self.plan.at(index))
            self.made[index] = self.renderer.body_maps(positions)
            for old in [k for k in self.made if k < index - 2]:
                del self.made[old]
        return self.made[index]

    def at(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        last = self.plan.frames - 1
        if index % 2 == 0 or index == last:
            return self._made(index)
        before, after = self._made(index - 1), self._made(index + 1)
        return (
            cv2.addWeighted(before[0], 0.5, after[0], 0.5, 0),
            cv2.addWeighted(before[1], 0.5, after[1], 0.5, 0),
        )


def _ahead(render: Callable[[int], np.ndarray], count: int, depth: int = 3) -> Iterator[np.ndarray]:
    """`render(0)`, `render(1)`, ... made by a worker thread up to `depth` frames ahead.

    OpenCV and NumPy release the GIL in their heavy calls, and so does the H.264 encoder, so the
    two overlap on a machine with spare cores. Closing the iterator (a kill) stops the worker.
    """
    slots: queue.Queue[np.ndarray | BaseException] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work() -> None:
        try:
            for index in range(count):
                if stop.is_set():
                    return
                slots.put(render(index))
        except BaseException as exc:  # handed to the consumer, raised there
            slots.put(exc)

    worker = threading.Thread(target=work, name="portrait-render", daemon=True)
    worker.start()
    try:
        for _ in range(count):
            item = slots.get()
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():
            with contextlib.suppress(queue.Empty):
                slots.get(timeout=0.05)
        worker.join()


def _analyse(request: GenerationRequest, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The photo at output size and the subject's landmarks in its pixels."""
    h, w = request.image.shape[:2]
    shrink = size[0] < w
    image = cv2.resize(
        request.image, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
    )
    scale = np.array([size[0] / w, size[1] / h])
    if request.face.landmarks is not None:
        return image, np.asarray(request.face.landmarks, np.float64) * scale
    from subject2video.media.faces import get_analyzer

    face = get_analyzer().subject(image)
    assert face.landmarks is not None
    return image, np.asarray(face.landmarks, np.float64)
