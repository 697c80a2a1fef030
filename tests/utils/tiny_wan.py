"""A tiny random-weight Wan2.1 VACE pipeline, built locally (no hub), saved as a diffusers folder.

The component configs follow diffusers' own tests (tests/pipelines/wan/test_wan_vace.py); the text
encoder and tokenizer, which those tests fetch from the hub, are built here from small configs.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

#: Words the tiny tokenizer knows; anything else is <unk>.
_VOCAB = (
    "a", "the", "person", "man", "woman", "smiles", "turns", "head", "looks", "at", "camera",
    "walks", "slowly", "and", "of", "in", "on", "with", "portrait", "light", "face", "hair",
    "talking", "nods", "gently", "natural", "motion",
)  # fmt: skip


def _tokenizer() -> object:
    """A word-level fast tokenizer with T5's special tokens, trained on nothing, built offline."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2}
    for word in _VOCAB:
        vocab.setdefault(word, len(vocab))
    model = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    model.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(
        tokenizer_object=model, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )


def build_tiny_pipeline() -> object:
    """A WanVACEPipeline with seeded random weights small enough for a CPU test."""
    import torch
    from diffusers import (
        AutoencoderKLWan,
        FlowMatchEulerDiscreteScheduler,
        WanVACEPipeline,
        WanVACETransformer3DModel,
    )
    from transformers import UMT5Config, UMT5EncoderModel

    torch.manual_seed(0)
    vae = AutoencoderKLWan(
        base_dim=3,
        z_dim=16,
        dim_mult=[1, 1, 1, 1],
        num_res_blocks=1,
        temperal_downsample=[False, True, True],
    )
    torch.manual_seed(0)
    text_encoder = UMT5EncoderModel(
        UMT5Config(
            vocab_size=64,
            d_model=32,
            d_kv=8,
            d_ff=37,
            num_layers=2,
            num_heads=4,
            relative_attention_num_buckets=8,
            pad_token_id=0,
            eos_token_id=1,
        )
    )
    torch.manual_seed(0)
    transformer = WanVACETransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=16,
        out_channels=16,
        text_dim=32,
        freq_dim=256,
        ffn_dim=32,
        num_layers=3,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32,
        vace_layers=[0, 2],
        vace_in_channels=96,
    )
    return WanVACEPipeline(
        tokenizer=_tokenizer(),
        text_encoder=text_encoder,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0),
        transformer=transformer,
    )


def save_tiny_model(folder: Path) -> Path:
    """Build the tiny pipeline and save it in diffusers' folder layout under `folder`."""
    build_tiny_pipeline().save_pretrained(folder)  # type: ignore[attr-defined]
    return folder
