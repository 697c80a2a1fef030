"""Denoising-step throughput of the Wan2.1 VACE transformer at its real size, with random weights.

    python benchmarks/gpu_bench.py                      # 1.3B, then 14B while the budget lasts
    python benchmarks/gpu_bench.py --variants 1.3B --steps 3

No weights are needed or downloaded: the transformer is built from its published configuration with
random bf16 weights on the GPU, so this measures speed and memory, never quality. One step is what
`WanVACEPipeline` does per denoising step at 832x480, 81 frames (latents 104x60x21, plus one
reference-image latent frame): a conditional and an unconditional forward pass (CFG). Modes: eager;
CFG batched (both passes as one batch of 2); torch.compile of the repeated blocks; each attention
backend that loads. Prints a markdown table; exits 2 when there is no CUDA device.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# From diffusers' scripts/convert_wan_to_diffusers.py ("Wan-VACE-1.3B" and "Wan-VACE-14B"), which
# match transformer/config.json of Wan-AI/Wan2.1-VACE-{1.3B,14B}-diffusers.
_COMMON: dict[str, Any] = {
    "added_kv_proj_dim": None,
    "attention_head_dim": 128,
    "cross_attn_norm": True,
    "eps": 1e-06,
    "freq_dim": 256,
    "in_channels": 16,
    "out_channels": 16,
    "patch_size": (1, 2, 2),
    "qk_norm": "rms_norm_across_heads",
    "text_dim": 4096,
    "vace_in_channels": 96,
}
CONFIGS: dict[str, dict[str, Any]] = {
    "1.3B": {
        **_COMMON,
        "ffn_dim": 8960,
        "num_attention_heads": 12,
        "num_layers": 30,
        "vace_layers": list(range(0, 30, 2)),
    },
    "14B": {
        **_COMMON,
        "ffn_dim": 13824,
        "num_attention_heads": 40,
        "num_layers": 40,
        "vace_layers": list(range(0, 40, 5)),
    },
}
#: Wan's VAE compresses 8x in space and 4x in time; umT5 prompts are padded to 512 tokens.
SPATIAL, TEMPORAL, TEXT_TOKENS = 8, 4, 512
BACKENDS = ("native", "_native_flash", "_native_cudnn", "flash", "_flash_3", "sage")


@dataclass(frozen=True)
class Shape:
    """Latent sizes for a video of width x height x frames with one reference image."""

    width: int = 832
    height: int = 480
    frames: int = 81

    @property
    def latent(self) -> tuple[int, int, int]:
        """(frames, height, width) of the latents, the reference frame included."""
        return (self.frames - 1) // TEMPORAL + 2, self.height // SPATIAL, self.width // SPATIAL

    @property
    def tokens(self) -> int:
        f, h, w = self.latent
        return f * (h // 2) * (w // 2)


@dataclass
class Row:
    variant: str
    mode: str
    steps_per_s: float | None
    peak_gib: float | None
    note: str = ""

    def markdown(self) -> str:
        speed = f"{self.steps_per_s:.3f}" if self.steps_per_s else "-"
        sec = f"{1 / self.steps_per_s:.2f}" if self.steps_per_s else "-"
        peak = f"{self.peak_gib:.1f}" if self.peak_gib else "-"
        return f"| {self.variant} | {self.mode} | {speed} | {sec} | {peak} | {self.note} |"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variants", default="1.3B,14B", help="comma-separated: 1.3B, 14B")
    parser.add_argument("--modes", default="eager,cfg-batched,compile,attention")
    parser.add_argument("--steps", type=int, default=4, help="timed steps per mode")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps per mode")
    parser.add_argument("--width", type=int, default=832)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--frames", type=int, default=81)
    parser.add_argument("--budget", type=float, default=450.0, help="seconds; later modes skip")
    args = parser.parse_args(argv)
    for variant in args.variants.split(","):
        if variant not in CONFIGS:
            parser.error(f"unknown variant {variant!r}: choose from {', '.join(CONFIGS)}")
    return args


def build(variant: str) -> Any:
    """The VACE transformer at its real configuration, random bf16 weights, on the GPU."""
    import torch
    from diffusers import WanVACETransformer3DModel

    with torch.device("cuda"):
        model = WanVACETransformer3DModel(**CONFIGS[variant]).to(torch.bfloat16)
    return model.eval().requires_grad_(False)


def inputs(shape: Shape, batch: int) -> dict[str, Any]:
    import torch

    f, h, w = shape.latent
    kw = {"device": "cuda", "dtype": torch.bfloat16}
    return {
        "hidden_states": torch.randn(batch, 16, f, h, w, **kw),
        "control_hidden_states": torch.randn(batch, 96, f, h, w, **kw),
        "encoder_hidden_states": torch.randn(batch, TEXT_TOKENS, 4096, **kw),
        "timestep": torch.full((batch,), 500, device="cuda", dtype=torch.long),
        "return_dict": False,
    }


def time_steps(step: Callable[[], None], steps: int, warmup: int) -> tuple[float, float]:
    """(steps per second, peak GiB) of `step`, after `warmup` untimed steps."""
    import torch

    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    return steps / (time.perf_counter() - started), torch.cuda.max_memory_allocated() / 2**30


def cfg_step(model: Any, shape: Shape, *, batched: bool) -> Callable[[], None]:
    """One denoising step with classifier-free guidance, as two passes or one batch of two."""
    import torch

    if batched:
        both = inputs(shape, 2)

        def step() -> None:
            with torch.inference_mode():
                model(**both)[0].chunk(2)

        return step
    one = inputs(shape, 1)

    def step_sequential() -> None:
        with torch.inference_mode():
            model(**one)
            model(**one)

    return step_sequential


def bench_variant(variant: str, args: argparse.Namespace, deadline: float) -> list[Row]:
    """Every requested mode for one model size, while time remains."""
    import torch

    shape = Shape(args.width, args.height, args.frames)
    modes = args.modes.split(",")
    rows: list[Row] = []
    model = build(variant)

    def run(mode: str, step: Callable[[], None], note: str = "") -> None:
        if time.monotonic() > deadline:
            rows.append(Row(variant, mode, None, None, "skipped: time budget"))
            return
        try:
            speed, peak = time_steps(step, args.steps, args.warmup)
            rows.append(Row(variant, mode, speed, peak, note))
        except (RuntimeError, torch.cuda.OutOfMemoryError) as exc:
            rows.append(Row(variant, mode, None, None, f"failed: {str(exc).splitlines()[0][:80]}"))
        print(rows[-1].markdown(), file=sys.stderr, flush=True)

    if "eager" in modes:
        run("eager (CFG as 2 passes)", cfg_step(model, shape, batched=False))
    if "cfg-batched" in modes:
        run("CFG batched (batch 2)", cfg_step(model, shape, batched=True))
    if "attention" in modes:
        for backend in BACKENDS:
            try:
                model.set_attention_backend(backend)
            except (ValueError, RuntimeError, ImportError) as exc:
                rows.append(Row(variant, f"attention {backend}", None, None, f"n/a: {exc}"[:90]))
                continue
            run(f"attention {backend}", cfg_step(model, shape, batched=False))
        model.set_attention_backend("native")
    if "compile" in modes:
        model.compile_repeated_blocks(fullgraph=True)
        run("torch.compile blocks", cfg_step(model, shape, batched=False), "after 1 warm-up")
    del model
    torch.cuda.empty_cache()
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        print("gpu_bench: no CUDA device here; run it on a machine with an NVIDIA GPU.")
        return 2
    started = time.monotonic()
    deadline = started + args.budget
    shape = Shape(args.width, args.height, args.frames)
    rows: list[Row] = []
    for variant in args.variants.split(","):
        rows.extend(bench_variant(variant, args, deadline))
    f, h, w = shape.latent
    print(
        f"Random-weight throughput on {torch.cuda.get_device_name()}, torch {torch.__version__}: "
        f"{shape.width}x{shape.height}, {shape.frames} frames (latents {w}x{h}x{f}, "
        f"{shape.tokens} tokens), bf16; one step = conditional + unconditional pass.\n"
    )
    print("| model | mode | steps/s | s/step | peak GiB | note |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(row.markdown())
    print(f"\n{time.monotonic() - started:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
