"""The GPU benchmark's parts that run without a GPU: arguments, shapes, configs, the CPU exit."""

from __future__ import annotations

import pytest
from benchmarks import gpu_bench


def test_latent_shape_of_the_benchmarked_video() -> None:
    shape = gpu_bench.Shape()
    assert shape.latent == (22, 60, 104)  # 21 video latent frames + 1 reference frame
    assert shape.tokens == 22 * 30 * 52


def test_configs_build_the_published_sizes() -> None:
    from diffusers import WanVACETransformer3DModel

    for name, heads, layers in (("1.3B", 12, 30), ("14B", 40, 40)):
        config = gpu_bench.CONFIGS[name]
        assert config["num_attention_heads"] == heads and config["num_layers"] == layers
        # Every key is one the installed diffusers accepts (no weights are made here).
        _, unused, _ = WanVACETransformer3DModel.extract_init_dict(dict(config))
        assert not unused, unused
    assert len(gpu_bench.CONFIGS["1.3B"]["vace_layers"]) == 15
    assert gpu_bench.CONFIGS["14B"]["vace_layers"] == [0, 5, 10, 15, 20, 25, 30, 35]


def test_arguments() -> None:
    args = gpu_bench.parse_args(["--variants", "1.3B", "--steps", "2"])
    assert args.variants == "1.3B" and args.steps == 2 and args.frames == 81
    with pytest.raises(SystemExit):
        gpu_bench.parse_args(["--variants", "7B"])


def test_exits_clearly_without_cuda(capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present: this checks the CPU-only exit")
    assert gpu_bench.main(["--variants", "1.3B"]) == 2
    assert "no CUDA device" in capsys.readouterr().out
