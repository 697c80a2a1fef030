"""The diffusion engine's own settings, read from S2V_DIFFUSION_* environment variables.

They are not part of the service's Settings (config.py): only this engine reads them, and a worker
running another engine never looks at them. README "Speed and memory settings" lists them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class DiffusionSettings(BaseSettings):
    """Every setting of the diffusion engine: `S2V_DIFFUSION_<NAME>` in the environment."""

    model_config = SettingsConfigDict(
        env_prefix="S2V_DIFFUSION_", extra="ignore", protected_namespaces=()
    )

    #: Local folder of a diffusers-format Wan2.1 VACE model; nothing is downloaded at run time.
    model: Path | None = None
    #: Denoising steps: 30 by default, about 4 with a step-distillation LoRA.
    steps: int = Field(30, ge=1, le=200)
    #: Classifier-free guidance scale; 1.0 turns CFG off (what distillation LoRAs want).
    guidance: float = Field(5.0, ge=0)
    #: torch dtype of the weights: "auto" is bfloat16 on a GPU and float32 on the CPU.
    dtype: str = Field("auto", pattern="^(auto|bfloat16|float16|float32)$")
    #: torch.compile the transformer's repeated blocks (regional compilation).
    compile: bool = False
    #: diffusers attention backend ("native", "flash", "sage", ...), or "auto" for the default.
    attention: str = "auto"
    #: Step cache: "none", "first_block" (First Block Cache) or "mag" (MagCache, needs ratios).
    cache: str = Field("none", pattern="^(none|first_block|mag)$")
    #: First Block Cache threshold, or MagCache threshold.
    cache_threshold: float = Field(0.05, gt=0)
    #: MagCache magnitude ratios for this model and scheduler, comma-separated.
    mag_ratios: str = ""
    #: Model CPU offload, for GPUs too small to hold every component at once.
    offload: bool = False
    #: Decode the video in VAE tiles, to bound the decoder's memory.
    vae_tiling: bool = False
    #: A step-distillation LoRA file (for example lightx2v's 4-step Wan LoRA), or empty.
    lora: Path | None = None
    #: Frames the model generates at 16 fps (4k+1); retimed to the 150-frame output.
    frames: int = Field(97, ge=1, le=257)
    #: Generation size of a landscape input (swapped for a portrait one); multiples of 16.
    width: int = Field(832, ge=16, le=2048, multiple_of=16)
    height: int = Field(480, ge=16, le=2048, multiple_of=16)
    #: Append a motion phrase to prompts that name no motion (VACE moves little otherwise).
    motion_phrase: bool = True
    #: Seconds to sleep per denoising step: for tests that must catch a task mid-generation.
    step_delay: float = Field(0.0, ge=0)

    @field_validator("model", "lora", mode="before")
    @classmethod
    def _empty_path(cls, value: object) -> object:
        return None if value in ("", None) else value
