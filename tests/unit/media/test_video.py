"""Unit tests for subject2video.media.video: sizes, MP4 writing and probing."""

from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np
import pytest
from av.video.reformatter import VideoReformatter

from subject2video.media.video import (
    Mp4Writer,
    PipelinedWriter,
    encoder_threads,
    output_size,
    probe,
    read_frames,
)


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((512, 512), (720, 720)),
        ((1920, 1080), (1280, 720)),
        ((1080, 1920), (720, 1280)),
        ((640, 480), (960, 720)),
        ((480, 640), (720, 960)),
        ((333, 500), (720, 1082)),
        ((451, 300), (1082, 720)),
        ((4001, 3001), (960, 720)),
        ((2000, 5000), (720, 1800)),
    ],
)
def test_output_size(size: tuple[int, int], expected: tuple[int, int]) -> None:
    width, height = output_size(*size)
    assert (width, height) == expected
    assert min(width, height) == 720 and width % 2 == 0 and height % 2 == 0


def test_output_size_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="positive"):
        output_size(0, 100)


def moving_frames(count: int, width: int, height: int) -> list[np.ndarray]:
    frames = []
    for index in range(count):
        frame = np.zeros((height, width, 3), dtype=np.uint8)
        frame[:, :, 2] = np.linspace(0, 255, width, dtype=np.uint8)
        x = index * 8 % (width - 80)
        frame[height // 3 : height // 3 + 80, x : x + 80] = (255, 200, 40)
        frames.append(frame)
    return frames


@pytest.fixture(scope="module")
def six_seconds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("video") / "out.mp4"
    with Mp4Writer(path, 1280, 720, fps=25) as writer:
        for frame in moving_frames(150, 1280, 720):
            writer.write(frame)
    return path


def test_written_video_meets_the_output_contract(six_seconds: Path) -> None:
    info = probe(six_seconds)
    assert info.frames == 150
    assert info.fps == pytest.approx(25.0)
    assert (info.width, info.height) == (1280, 720)
    assert info.codec == "h264"
    assert info.pix_fmt == "yuv420p"
    assert info.duration == pytest.approx(6.0, abs=0.01)
    assert info.moov_first is True


def test_frames_read_back_close_to_what_was_written(six_seconds: Path) -> None:
    written = moving_frames(150, 1280, 720)
    read = list(read_frames(six_seconds, step=30))
    assert len(read) == 5
    for index, frame in zip(range(0, 150, 30), read, strict=True):
        assert frame.shape == (720, 1280, 3) and frame.dtype == np.uint8
        error = np.abs(frame.astype(int) - written[index].astype(int)).mean()
        assert error < 4.0


def test_wrong_frame_shape_names_both_shapes(tmp_path: Path) -> None:
    with Mp4Writer(tmp_path / "bad.mp4", 640, 360) as writer:
        with pytest.raises(ValueError, match=r"shape \(640, 360, 3\).*expected \(360, 640, 3\)"):
            writer.write(np.zeros((640, 360, 3), dtype=np.uint8))
        writer.write(np.zeros((360, 640, 3), dtype=np.uint8))
    assert probe(tmp_path / "bad.mp4").frames == 1


#: Flat patches: greys, primaries, skin, sky and foliage (RGB).
PATCHES = [
    (0, 0, 0), (128, 128, 128), (255, 255, 255), (230, 30, 30), (30, 200, 40), (20, 40, 220),
    (224, 172, 140), (120, 80, 60), (90, 160, 230), (60, 110, 40), (250, 220, 60), (200, 0, 180),
]  # fmt: skip


@pytest.mark.parametrize("size", [(640, 360), (1082, 720)])
def test_colours_come_back_as_written(tmp_path: Path, size: tuple[int, int]) -> None:
    """The RGB to yuv420p conversion uses the matrix and range the decoder assumes (BT.601,
    limited): a flat patch comes back within a few levels, where a wrong matrix or range is off by
    15 or more. Odd chroma widths (1082 / 2) keep their rows."""
    width, height = size
    frame = np.zeros((height, width, 3), np.uint8)
    cell = width // len(PATCHES)
    for i, colour in enumerate(PATCHES):
        frame[:, i * cell : (i + 1) * cell] = colour
    path = tmp_path / "colours.mp4"
    with Mp4Writer(path, width, height) as writer:
        for _ in range(3):
            writer.write(frame)
    back = next(iter(read_frames(path))).astype(int)
    for i, colour in enumerate(PATCHES):
        inside = back[8:-8, i * cell + 8 : (i + 1) * cell - 8].reshape(-1, 3)
        assert np.abs(inside.mean(axis=0) - colour).max() < 4, (colour, inside.mean(axis=0))


def test_a_pipelined_writer_refuses_a_wrong_frame_at_once(tmp_path: Path) -> None:
    """The frame is checked in the caller's thread, so the caller's `write`
    raises, not a later one; the good frames around it are written."""
    path = tmp_path / "piped.mp4"
    frames = moving_frames(6, 320, 240)
    with PipelinedWriter(Mp4Writer(path, 320, 240)) as writer:
        for frame in frames[:3]:
            writer.write(frame)
        with pytest.raises(ValueError, match=r"expected \(240, 320, 3\) uint8"):
            writer.write(np.zeros((240, 320, 3), np.float32))
        for frame in frames[3:]:
            writer.write(frame)
    assert probe(path).frames == 6
    read = list(read_frames(path))
    assert all(np.abs(a.astype(int) - b).mean() < 4 for a, b in zip(read, frames, strict=True))


def test_convert_is_the_conversion_the_encoder_makes(tmp_path: Path) -> None:
    """`convert` gives the planes PyAV's own conversion inside `encode` gives (swscale to
    yuv420p at the encoder's threads), from a reformatter of the caller's own or the writer's;
    a wrong frame is refused as `write` refuses it."""
    frames = moving_frames(3, 320, 240)
    with Mp4Writer(tmp_path / "x.mp4", 320, 240, threads=1) as writer:
        mine = VideoReformatter()
        for frame in frames:
            own = av.VideoFrame.from_ndarray(frame, format="rgb24").reformat(
                320, 240, "yuv420p", threads=1
            )
            for made in (writer.convert(frame, mine), writer.convert(frame)):
                assert made.format.name == "yuv420p" and (made.width, made.height) == (320, 240)
                for plane, expected in zip(made.planes, own.planes, strict=True):
                    assert bytes(plane) == bytes(expected)
            writer.write(writer.convert(frame, mine))
        with pytest.raises(ValueError, match=r"expected \(240, 320, 3\) uint8"):
            writer.convert(np.zeros((240, 320, 4), np.uint8))
    assert probe(tmp_path / "x.mp4").frames == 3


def test_a_pipelined_writer_converts_in_the_callers_thread_when_the_encoder_is_behind(
    tmp_path: Path,
) -> None:
    """Frames written faster than x264 encodes them (made beforehand, at 720p, on one encoder
    thread) fill the queue; the caller then converts them itself rather than wait, and the video
    is the one a plain writer makes (to within x264's run-to-run wobble: the first frame's size
    varies by a few bytes from one encoder to the next in one process, whoever converts)."""
    frames = moving_frames(24, 1280, 720)
    piped = PipelinedWriter(Mp4Writer(tmp_path / "piped.mp4", 1280, 720, threads=1))
    with piped:
        for frame in frames:
            piped.write(frame)
    with Mp4Writer(tmp_path / "plain.mp4", 1280, 720, threads=1) as writer:
        for frame in frames:
            writer.write(frame)
    assert piped.converted_here > 0
    piped_frames = list(read_frames(tmp_path / "piped.mp4"))
    plain_frames = list(read_frames(tmp_path / "plain.mp4"))
    assert len(piped_frames) == len(plain_frames) == len(frames)
    for a, b in zip(piped_frames, plain_frames, strict=True):
        assert np.abs(a.astype(int) - b).mean() < 0.5


def test_close_is_idempotent(tmp_path: Path) -> None:
    writer = Mp4Writer(tmp_path / "twice.mp4", 320, 240, fps=10)
    for frame in moving_frames(10, 320, 240):
        writer.write(frame)
    writer.close()
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.write(moving_frames(1, 320, 240)[0])
    info = probe(tmp_path / "twice.mp4")
    assert info.frames == 10 and info.fps == pytest.approx(10.0)


def test_odd_sizes_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="even"):
        Mp4Writer(tmp_path / "odd.mp4", 641, 360)


@pytest.mark.parametrize(
    ("cores", "alone", "beside"), [(1, 1, 1), (2, 2, 1), (4, 4, 3), (32, 8, 8)]
)
def test_the_encoder_leaves_a_cpu_engine_a_core(
    monkeypatch: pytest.MonkeyPatch, cores: int, alone: int, beside: int
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    assert encoder_threads() == alone
    assert encoder_threads(beside_engine=True) == beside
