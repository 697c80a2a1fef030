"""`s2v generate` runs the runner's own pipeline: a length and a size, as a task would get them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from subject2video.cli import app
from subject2video.local import generate_video
from subject2video.media.video import probe
from tests.utils.images import face_jpeg


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "face.jpg"
    path.write_bytes(face_jpeg())
    return path


def test_seconds_and_size(photo: Path, tmp_path: Path) -> None:
    out = tmp_path / "v.mp4"
    result = generate_video(
        photo, "", out, engine_name="camera", show_progress=False, seconds=2, size=(480, 854)
    )
    info = probe(out)
    assert (result.frames, info.frames, info.width, info.height) == (50, 50, 480, 854)
    assert any("framing:" in line for line in result.log), result.log
    assert any("output 480x854 50 frames (2 s)" in line for line in result.log), result.log


def test_cli_options_and_their_limits(photo: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli.mp4"
    runner = CliRunner()
    args = ["generate", str(photo), "-o", str(out), "--engine", "camera"]
    made = runner.invoke(app, [*args, "--seconds", "3", "--size", "720x720"])
    assert made.exit_code == 0, made.output
    info = probe(out)
    assert (info.frames, info.width, info.height) == (75, 720, 720)
    refused = runner.invoke(app, [*args, "--seconds", "30"])
    assert refused.exit_code == 1 and "seconds" in refused.output, refused.output
    refused = runner.invoke(app, [*args, "--size", "huge"])
    assert refused.exit_code == 1 and "--size" in refused.output, refused.output
