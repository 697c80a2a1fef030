"""Unit tests of the diffusion engine's parts that need no model: folder checks, retime, reference
image, prompts, and the settings' validation."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from subject2video.engines.base import Face
from subject2video.engines.diffusion.loading import check_model_folder, missing_files
from subject2video.engines.diffusion.prompts import MOTION_PHRASE, build_prompt, names_motion
from subject2video.engines.diffusion.reference import reference_image, subject_matte
from subject2video.engines.diffusion.retime import fit, positions, retime
from subject2video.engines.diffusion.settings import DiffusionSettings
from subject2video.errors import EngineError
from tests.utils.images import face_rgb

ASTRONAUT_FACE = Face(box=(179, 83, 267, 171), score=1.5)


def _complete_folder(root: Path) -> Path:
    for rel in (
        "model_index.json",
        "transformer/config.json",
        "transformer/diffusion_pytorch_model.safetensors.index.json",
        "vae/config.json",
        "vae/diffusion_pytorch_model.safetensors",
        "text_encoder/config.json",
        "text_encoder/model.safetensors",
        "scheduler/scheduler_config.json",
        "tokenizer/tokenizer_config.json",
        "tokenizer/tokenizer.json",
    ):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(json.dumps({}))
    return root


def test_complete_folder_passes(tmp_path: Path) -> None:
    folder = _complete_folder(tmp_path / "wan")
    assert missing_files(folder) == []
    assert check_model_folder(folder) == folder


def test_incomplete_folder_names_folder_and_missing_files(tmp_path: Path) -> None:
    folder = _complete_folder(tmp_path / "wan")
    (folder / "vae/diffusion_pytorch_model.safetensors").unlink()
    (folder / "scheduler/scheduler_config.json").unlink()
    with pytest.raises(EngineError) as caught:
        check_model_folder(folder)
    message = caught.value.message
    assert str(folder) in message
    assert "scheduler/scheduler_config.json" in message
    assert "vae/*.safetensors" in message
    assert "transformer" not in message


def test_missing_or_unset_folder(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="S2V_DIFFUSION_MODEL"):
        check_model_folder(None)
    with pytest.raises(EngineError, match="no such folder"):
        check_model_folder(tmp_path / "absent")
    with pytest.raises(EngineError, match=r"model_index\.json"):
        check_model_folder(tmp_path)


def test_settings_validate_sizes_and_switches() -> None:
    with pytest.raises(ValueError):
        DiffusionSettings(width=830)
    with pytest.raises(ValueError):
        DiffusionSettings(cache="tea")
    assert DiffusionSettings(model="", lora="").model is None


def _square(x: int, size: int = 64) -> np.ndarray:
    frame = np.full((size, size, 3), 30, np.uint8)
    frame[24:40, x : x + 16] = (250, 200, 40)
    return frame


def _centroid_x(frame: np.ndarray) -> float:
    mask = frame[..., 0] > 140
    return float(np.nonzero(mask)[1].mean())


def test_positions_cover_the_clip() -> None:
    p = positions(97, 150)
    assert len(p) == 150 and p[0] == 0 and p[-1] == 96
    assert np.all(np.diff(p) > 0)
    assert list(positions(1, 3)) == [0, 0, 0]
    with pytest.raises(ValueError):
        positions(0, 5)


def test_retime_exact_count_ends_and_monotone_motion() -> None:
    frames = [_square(8 + 4 * i) for i in range(5)]
    out = list(retime(frames, 23))
    assert len(out) == 23
    assert np.array_equal(out[0], frames[0]) and np.array_equal(out[-1], frames[-1])
    xs = [_centroid_x(f) for f in out]
    assert all(b >= a - 0.25 for a, b in itertools.pairwise(xs)), xs
    assert np.array_equal(out[11], frames[2])  # output 11 falls exactly on input 2
    # Output 3 falls 55% of the way from input 0 (centre x 15.5) to input 1 (19.5): one square
    # there, not a cross-fade of two.
    between = out[3]
    assert 17.0 < _centroid_x(between) < 18.6
    assert abs(int((between[..., 0] > 140).sum()) - 16 * 16) <= 24


def test_fit_crops_to_aspect_and_scales() -> None:
    frame = np.zeros((480, 832, 3), np.uint8)
    out = fit(frame, 1280, 720)
    assert out.shape == (720, 1280, 3)
    assert fit(frame, 720, 720).shape == (720, 720, 3)


def test_reference_image_subject_on_white() -> None:
    image = face_rgb()
    matte = subject_matte(image, ASTRONAUT_FACE)
    assert matte.shape == image.shape[:2] and matte.dtype == np.float32
    left, top, right, bottom = ASTRONAUT_FACE.box
    assert matte[(top + bottom) // 2, (left + right) // 2] > 0.95  # the face is kept
    assert matte[5, 5] < 0.05  # the top corner is background
    ref = np.asarray(reference_image(image, ASTRONAUT_FACE, (832, 480)))
    assert ref.shape == (480, 832, 3)
    assert (ref[:, :40] == 255).all() and (ref[:5] == 255).all()  # plain white around
    assert ref[200:300, 380:450].std() > 10  # and a subject in the middle


def test_prompt_gets_motion_phrase_only_without_motion() -> None:
    assert names_motion("a woman turns her head and smiles")
    assert names_motion("the camera pans left")
    assert not names_motion("a portrait of a man in blue pants, standard lighting")
    assert build_prompt("a woman nods") == "a woman nods"
    assert build_prompt("a man in a garden") == f"a man in a garden. {MOTION_PHRASE}"
    assert build_prompt("  ") == MOTION_PHRASE
    assert build_prompt("a man", add_motion=False) == "a man"
