"""The diffusion engine: Wan2.1 VACE (diffusers `WanVACEPipeline`) with the face as reference image.

setup() loads the pipeline once from the operator's folder (loading.py). Per task: the subject is
cut out onto white (reference.py), the prompt gains a motion phrase where it names none
(prompts.py), the model makes S2V_DIFFUSION_FRAMES frames at 16 fps with a progress event and a
kill check at every denoising step, and the frames are re-timed to the output's frame count by
optical flow and scaled to the output size (retime.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from subject2video.engines.base import GenerationContext, GenerationRequest
from subject2video.engines.diffusion.loading import Loaded, load_pipeline
from subject2video.engines.diffusion.prompts import NEGATIVE_PROMPT, build_prompt
from subject2video.engines.diffusion.reference import reference_image
from subject2video.engines.diffusion.retime import fit, retime
from subject2video.engines.diffusion.settings import DiffusionSettings
from subject2video.errors import Cancelled, EngineError

logger = logging.getLogger(__name__)

#: Wan2.1 generates at 16 frames per second.
MODEL_FPS = 16
#: The output length S2V_DIFFUSION_FRAMES is set for (6 s at 25 fps); other lengths scale it.
BASE_OUTPUT_FRAMES = 150
MAX_GENERATED = 257


def generated_frames(setting: int, output_frames: int) -> int:
    """How many frames the model makes for an output of `output_frames`: the setting scaled by
    length and rounded to Wan's 4k+1, so a 12 s video has twice the motion of a 6 s one rather than
    the same motion stretched."""
    wanted = setting * output_frames / BASE_OUTPUT_FRAMES
    return int(min(MAX_GENERATED, max(5, 4 * round((wanted - 1) / 4) + 1)))


class DiffusionEngine:
    """Generative subject-to-video with Wan2.1 VACE from local weights (GPU; CPU for tests)."""

    name = "diffusion"
    #: One worker per visible GPU by default, each pinned to its device (tasks/dispatch/sizing.py).
    uses_gpu = True

    def __init__(self, config: DiffusionSettings | None = None) -> None:
        # Named `config`, not `settings`: the registry gives a `settings` parameter the service's
        # Settings, and this engine's own are read from S2V_DIFFUSION_* (settings.py).
        self.settings = config or DiffusionSettings()
        self.loaded: Loaded | None = None
        if self.settings.frames % 4 != 1:
            raise EngineError(
                f"S2V_DIFFUSION_FRAMES={self.settings.frames}: Wan needs 4k+1 frames "
                "(for example 81 or 97)"
            )

    def setup(self) -> None:
        """Load the pipeline once; a missing or incomplete model folder fails here."""
        started = time.monotonic()
        self.loaded = load_pipeline(self.settings)
        logger.info(
            "diffusion engine ready on %s (%s) in %.1f s",
            self.loaded.device,
            str(self.loaded.dtype).removeprefix("torch."),
            time.monotonic() - started,
        )

    def generation_size(self, request: GenerationRequest) -> tuple[int, int]:
        """The model's (width, height): the setting, turned to the output's orientation."""
        long_side = max(self.settings.width, self.settings.height)
        short_side = min(self.settings.width, self.settings.height)
        if request.width >= request.height:
            return long_side, short_side
        return short_side, long_side

    def frames(
        self, request: GenerationRequest, context: GenerationContext
    ) -> Iterator[np.ndarray]:
        """Generate, then yield `request.frames` RGB frames of (height, width, 3)."""
        if self.loaded is None:
            self.setup()
        assert self.loaded is not None
        size = self.generation_size(request)
        reference = reference_image(request.image, request.face, size)
        prompt = build_prompt(request.prompt, add_motion=self.settings.motion_phrase)
        context.log(
            f"diffusion: Wan VACE {size[0]}x{size[1]}, "
            f"{generated_frames(self.settings.frames, request.frames)} frames at "
            f"{MODEL_FPS} fps, {self.settings.steps} steps, guidance "
            f"{self.settings.guidance}; prompt: {prompt}"
        )
        generated = self._generate(request, context, prompt, reference, size)
        context.log(
            f"diffusion: retiming {len(generated)} frames to {request.frames} at {request.fps} fps"
        )
        for frame in retime(generated, request.frames):
            context.check_cancelled()
            yield fit(frame, request.width, request.height)

    def _generate(
        self,
        request: GenerationRequest,
        context: GenerationContext,
        prompt: str,
        reference: Any,
        size: tuple[int, int],
    ) -> list[np.ndarray]:
        """Run the pipeline with a progress event and a kill check at every step."""
        import torch

        assert self.loaded is not None
        pipe = self.loaded.pipe
        steps = self.settings.steps
        delay = self.settings.step_delay
        started = time.monotonic()

        def on_step_end(
            pipeline: Any, step: int, timestep: Any, tensors: dict[str, Any]
        ) -> dict[str, Any]:
            if delay:
                time.sleep(delay)
            context.progress(step + 1, steps, task="Generate")
            try:
                context.check_cancelled()
            except Cancelled:
                # diffusers' own interrupt flag, then leave at once: raising here also skips the
                # VAE decode of a video nobody wants, so a kill lands within one step.
                pipeline._interrupt = True
                raise
            return {}

        context.check_cancelled()
        generator = torch.Generator(device="cpu").manual_seed(request.seed)
        guidance = self.settings.guidance
        with torch.inference_mode():
            output = pipe(
                prompt=prompt,
                negative_prompt=NEGATIVE_PROMPT if guidance > 1.0 else None,
                reference_images=[reference],
                height=size[1],
                width=size[0],
                num_frames=generated_frames(self.settings.frames, request.frames),
                num_inference_steps=steps,
                guidance_scale=guidance,
                generator=generator,
                output_type="np",
                callback_on_step_end=on_step_end,
            )
        if getattr(pipe, "interrupt", False):
            raise Cancelled()
        elapsed = time.monotonic() - started
        context.log(f"diffusion: {steps} steps and decode in {elapsed:.1f} s")
        video = np.asarray(output.frames[0])
        return [np.clip(frame * 255.0 + 0.5, 0, 255).astype(np.uint8) for frame in video]
