"""The camera and diffusion engines over other lengths (same speed of motion, not stretched), and
the diffusion prompt's camera instructions."""

from __future__ import annotations

import pytest

from subject2video.engines.camera import MAX_ZOOM, zoom_for
from subject2video.engines.diffusion.engine import generated_frames


@pytest.mark.parametrize(("seconds", "zoom"), [(2, 1.06), (6, 1.18), (10, 1.30), (12, 1.36)])
def test_camera_push_keeps_its_speed(seconds: int, zoom: float) -> None:
    assert zoom_for(1.18, seconds) == pytest.approx(zoom)


def test_camera_push_is_capped() -> None:
    assert zoom_for(1.3, 12) == MAX_ZOOM
    assert zoom_for(1.0, 12) == 1.0


@pytest.mark.parametrize(("frames", "generated"), [(50, 33), (150, 97), (250, 161), (300, 193)])
def test_diffusion_generates_in_proportion_to_length(frames: int, generated: int) -> None:
    made = generated_frames(97, frames)
    assert made == generated and made % 4 == 1


def test_diffusion_prompt_writes_camera_instructions_out() -> None:
    from subject2video.engines.diffusion.prompts import build_prompt

    built = build_prompt("[Pan left, Pedestal up] A woman smiles [Push in]")
    assert built == (
        "A woman smiles. The camera pans to the left. The camera rises. "
        "The camera pushes in towards the person."
    )
    assert "[" not in build_prompt("[Static shot] a portrait")
