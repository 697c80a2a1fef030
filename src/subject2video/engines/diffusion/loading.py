"""Loading a Wan2.1 VACE pipeline from a local folder, and applying the speed and memory switches.

Nothing is downloaded: the folder must hold a complete diffusers-format repository (as published at
Wan-AI/Wan2.1-VACE-1.3B-diffusers or Wan-AI/Wan2.1-VACE-14B-diffusers). A missing or incomplete
folder, or a switch that the installed diffusers cannot apply, is an `EngineError` at worker start.
"""

from __future__ import annotations

import importlib.metadata
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from subject2video.engines.diffusion.settings import DiffusionSettings
from subject2video.errors import EngineError

logger = logging.getLogger(__name__)

#: Config files each component folder must hold.
REQUIRED_CONFIGS = {
    "model_index.json": "model_index.json",
    "transformer": "transformer/config.json",
    "vae": "vae/config.json",
    "text_encoder": "text_encoder/config.json",
    "scheduler": "scheduler/scheduler_config.json",
    "tokenizer": "tokenizer/tokenizer_config.json",
}
#: Components whose weights must be present (one file, or a sharded index).
WEIGHT_FOLDERS = ("transformer", "vae", "text_encoder")
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".safetensors.index.json", ".bin.index.json")
#: Any one of these makes a tokenizer folder usable.
_TOKENIZER_FILES = ("tokenizer.json", "spiece.model", "tokenizer.model")


@dataclass(frozen=True)
class Loaded:
    """A loaded pipeline and where it runs."""

    pipe: Any
    device: str
    dtype: Any


def missing_files(folder: Path) -> list[str]:
    """The files a diffusers Wan VACE folder needs that `folder` lacks (relative paths)."""
    missing = [rel for rel in REQUIRED_CONFIGS.values() if not (folder / rel).is_file()]
    for name in WEIGHT_FOLDERS:
        sub = folder / name
        found = sub.is_dir() and any(
            p.name.endswith(_WEIGHT_SUFFIXES) for p in sub.iterdir() if p.is_file()
        )
        if not found:
            missing.append(f"{name}/*.safetensors (weights)")
    tokenizer = folder / "tokenizer"
    if not any((tokenizer / n).is_file() for n in _TOKENIZER_FILES):
        missing.append("tokenizer/tokenizer.json (or spiece.model)")
    return missing


def check_model_folder(folder: Path | None) -> Path:
    """Raise `EngineError` naming the folder and the missing files unless it is complete."""
    if folder is None:
        raise EngineError(
            "the diffusion engine needs a model folder: set S2V_DIFFUSION_MODEL to a local copy "
            "of Wan-AI/Wan2.1-VACE-1.3B-diffusers or Wan-AI/Wan2.1-VACE-14B-diffusers"
        )
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise EngineError(f"S2V_DIFFUSION_MODEL={folder}: no such folder")
    missing = missing_files(folder)
    if missing:
        raise EngineError(
            f"S2V_DIFFUSION_MODEL={folder} is not a complete diffusers Wan2.1 VACE folder; "
            f"missing: {', '.join(missing)}"
        )
    return folder


def resolve_device_dtype(setting: str) -> tuple[str, Any]:
    """The device (cuda when present) and the torch dtype for the dtype setting."""
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if setting == "auto":
        return device, torch.bfloat16 if device == "cuda" else torch.float32
    return device, getattr(torch, setting)


def load_pipeline(settings: DiffusionSettings) -> Loaded:
    """Check the folder, load `WanVACEPipeline` from it (local files only), apply the switches."""
    folder = check_model_folder(settings.model)
    from diffusers import WanVACEPipeline

    device, dtype = resolve_device_dtype(settings.dtype)
    try:
        pipe = WanVACEPipeline.from_pretrained(
            folder, **{_dtype_keyword(): dtype}, local_files_only=True
        )
    except (OSError, ValueError, KeyError) as exc:
        raise EngineError(f"could not load the model in {folder}: {exc}") from exc
    pipe.set_progress_bar_config(disable=True)
    apply_switches(pipe, settings, device)
    return Loaded(pipe=pipe, device=device, dtype=dtype)


def apply_switches(pipe: Any, settings: DiffusionSettings, device: str) -> list[str]:
    """Apply every speed and memory setting through diffusers' own API; returns what was done."""
    done: list[str] = []
    if settings.lora is not None:
        done.append(_load_lora(pipe, Path(settings.lora)))
    if settings.attention != "auto":
        name = settings.attention
        _require(pipe.transformer, "set_attention_backend", "S2V_DIFFUSION_ATTENTION")
        try:
            pipe.transformer.set_attention_backend(name)
        except (ValueError, RuntimeError, ImportError) as exc:
            raise EngineError(f"S2V_DIFFUSION_ATTENTION={name} cannot be used: {exc}") from exc
        done.append(f"attention backend {name}")
    if settings.cache != "none":
        pipe.transformer.enable_cache(_cache_config(settings))
        done.append(f"step cache {settings.cache}")
    if settings.vae_tiling:
        _require(pipe.vae, "enable_tiling", "S2V_DIFFUSION_VAE_TILING")
        pipe.vae.enable_tiling()
        done.append("VAE tiling")
    if settings.offload:
        if device != "cuda":
            raise EngineError("S2V_DIFFUSION_OFFLOAD needs a CUDA GPU; none was found")
        pipe.enable_model_cpu_offload()
        done.append("model CPU offload")
    else:
        pipe.to(device)
    if settings.compile:
        _require(pipe.transformer, "compile_repeated_blocks", "S2V_DIFFUSION_COMPILE")
        pipe.transformer.compile_repeated_blocks(fullgraph=True)
        done.append("torch.compile of the transformer blocks")
    for line in done:
        logger.info("diffusion: %s", line)
    return done


def _cache_config(settings: DiffusionSettings) -> Any:
    """The diffusers cache config for the cache setting."""
    _require_diffusers("0.35.0", "S2V_DIFFUSION_CACHE")
    import diffusers

    threshold = settings.cache_threshold
    if settings.cache == "first_block":
        return diffusers.FirstBlockCacheConfig(threshold=threshold)
    config_class = getattr(diffusers, "MagCacheConfig", None)
    if config_class is None:
        raise EngineError(
            f"S2V_DIFFUSION_CACHE=mag needs diffusers >= 0.37 (installed {_diffusers_version()})"
        )
    ratios = [float(v) for v in settings.mag_ratios.split(",") if v.strip()]
    if not ratios:
        raise EngineError(
            "S2V_DIFFUSION_CACHE=mag needs S2V_DIFFUSION_MAG_RATIOS: MagCache's ratios depend on "
            "the model and scheduler, and diffusers ships none for Wan (calibrate them once with "
            "diffusers.MagCacheConfig(calibrate=True))"
        )
    return config_class(threshold=threshold, mag_ratios=ratios, num_inference_steps=settings.steps)


def _load_lora(pipe: Any, path: Path) -> str:
    """Load (and fuse) a step-distillation LoRA from a local file."""
    if not path.is_file():
        raise EngineError(f"S2V_DIFFUSION_LORA={path}: no such file")
    try:
        pipe.load_lora_weights(str(path.parent), weight_name=path.name, adapter_name="distill")
        pipe.fuse_lora(lora_scale=1.0)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise EngineError(f"S2V_DIFFUSION_LORA={path} could not be loaded: {exc}") from exc
    return f"LoRA {path.name} fused"


def _require(obj: Any, method: str, setting: str) -> None:
    if not callable(getattr(obj, method, None)):
        raise EngineError(
            f"{setting} is not supported by the installed diffusers ({_diffusers_version()}): "
            f"{type(obj).__name__} has no {method}()"
        )


def _dtype_keyword() -> str:
    """`dtype` where the installed diffusers renamed `torch_dtype` (it warns on the old name)."""
    from diffusers.utils import deprecation_utils

    return (
        "dtype" if hasattr(deprecation_utils, "_TORCH_DTYPE_DEPRECATION_MESSAGE") else "torch_dtype"
    )


def _diffusers_version() -> str:
    return importlib.metadata.version("diffusers")


def _require_diffusers(minimum: str, setting: str) -> None:
    from packaging.version import Version

    if Version(_diffusers_version()) < Version(minimum):
        raise EngineError(
            f"{setting} needs diffusers >= {minimum} (installed {_diffusers_version()})"
        )
