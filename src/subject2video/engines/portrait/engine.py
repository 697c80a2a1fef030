"""The portrait engine: the person in the photo comes alive, on any CPU.

1. analysis: the photo at output size, the subject's 68 landmarks, head pose;
2. matte: the subject's alpha (GrabCut from a landmark prior) and the background plate;
3. plan: the prompt read into per-frame motion curves (logged to the task's debugoutput);
4. render: per frame, the mesh deformed by the plan, one remap, the subject over the plate,
   then the camera.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

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

    def __init__(self) -> None:
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
        target = geo.center if not np.any(plan.curves["pan"]) else (size[0] / 2, size[1] / 2)
        mark = time.perf_counter()
        for index in range(request.frames):
            context.check_cancelled()
            values = plan.at(index)
            frame = renderer.render(rig.positions(values), values["mouth"])
            matrix = camera_matrix(size, target, values["zoom"], values["pan"])
            if matrix is not None:
                frame = cv2.warpAffine(
                    frame, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
                )
            yield cv2.cvtColor(frame, cv2.COLOR_RGBA2RGB)
            context.progress(index + 1, request.frames)
        self.timings["render"] = time.perf_counter() - mark
        context.log(
            "portrait timings: "
            + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in self.timings.items())
        )


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
