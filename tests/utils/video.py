"""Checks of a produced video, by decoding it."""

from __future__ import annotations

from pathlib import Path

from subject2video.media.video import probe


def assert_contract_video(path: Path, *, aspect: float | None = None) -> None:
    """The output contract: 150 frames at 25 fps, H.264 yuv420p, moov first, short side 720."""
    info = probe(path)
    assert info.frames == 150, info
    assert abs(info.fps - 25) < 1e-6, info
    assert info.codec == "h264", info
    assert info.pix_fmt == "yuv420p", info
    assert info.moov_first, info
    assert min(info.width, info.height) == 720, info
    assert info.width % 2 == 0 and info.height % 2 == 0, info
    assert abs(info.duration - 6.0) < 0.05, info
    if aspect is not None:
        assert abs(info.width / info.height - aspect) < 0.01, info
