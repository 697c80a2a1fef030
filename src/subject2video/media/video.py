"""MP4 writing and probing with PyAV: H.264, yuv420p, moov atom first, as the output contract says.

Example:
    with Mp4Writer(path, 1280, 720) as writer:
        for frame in frames:
            writer.write(frame)
    assert probe(path).frames == 150
"""

from __future__ import annotations

import logging
import os
import queue
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from subject2video.media.audio import Audio

logger = logging.getLogger(__name__)

#: x264 gains little beyond this many threads at 720p, and workers share the machine.
MAX_ENCODER_THREADS = 8


def encoder_threads(beside_engine: bool = False) -> int:
    """x264's threads: every core up to `MAX_ENCODER_THREADS`, or, `beside_engine` (a CPU engine
    making the frames in this process while they are encoded), one core fewer, left to it. On
    two quiet cores one encoder thread beside the portrait engine took 4-9% less wall time and
    4% fewer CPU seconds than two fighting it for both cores (README, portrait bench)."""
    cores = os.cpu_count() or 1
    return max(1, min(cores - int(beside_engine), MAX_ENCODER_THREADS))


def output_size(width: int, height: int, short_side: int = 720) -> tuple[int, int]:
    """The output (width, height): the input's aspect, the short side exactly `short_side`, even."""
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    if short_side <= 0 or short_side % 2:
        raise ValueError(f"short side must be a positive even number, got {short_side}")
    if width <= height:
        return short_side, max(2, 2 * round(height * short_side / width / 2))
    return max(2, 2 * round(width * short_side / height / 2)), short_side


class Mp4Writer:
    """Encodes RGB frames to an MP4 file (H.264, yuv420p, +faststart); use as a context manager."""

    def __init__(
        self,
        path: Path,
        width: int,
        height: int,
        fps: int = 25,
        *,
        crf: int = 20,
        preset: str = "veryfast",
        threads: int | None = None,
        audio: Audio | None = None,
    ) -> None:
        if width <= 0 or height <= 0 or width % 2 or height % 2:
            raise ValueError(f"yuv420p needs positive even dimensions, got {width}x{height}")
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.path = Path(path)
        self.width, self.height, self.fps = width, height, fps
        self.frames_written = 0
        self._closed = False
        # faststart rewrites the file on close so that the moov atom comes first.
        self._container = av.open(
            str(self.path), mode="w", format="mp4", options={"movflags": "+faststart"}
        )
        try:
            stream = self._container.add_stream("libx264", rate=Fraction(fps))
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.options = {"crf": str(crf), "preset": preset}
            stream.codec_context.thread_count = threads or encoder_threads()
        except Exception:
            self._container.close()
            raise
        self._stream = stream
        self._reformatter = VideoReformatter()
        #: The voice track, muxed as AAC on close, padded with silence to the video's length.
        self.audio = audio
        self._audio_stream = None
        if audio is not None:
            try:
                self._audio_stream = self._container.add_stream("aac", rate=audio.rate)
                self._audio_stream.layout = "mono"
                self._audio_stream.bit_rate = 64000
            except Exception:
                self._container.close()
                raise

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def write(self, frame: np.ndarray | av.VideoFrame) -> None:
        """Encode one RGB uint8 frame of shape (height, width, 3), or one that `convert` made."""
        if self._closed:
            raise ValueError(f"cannot write to {self.path}: the writer is closed")
        if isinstance(frame, np.ndarray):
            # Converted by `encode` itself, as `convert` would: `convert` here, freeing the RGB
            # frame before the encoder ran, took `s2v generate`'s peak RSS 9-13 MB higher.
            frame = self._rgb(frame)
        frame.pts = self.frames_written
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames_written += 1

    def convert(
        self, frame: np.ndarray, reformatter: VideoReformatter | None = None
    ) -> av.VideoFrame:
        """One RGB frame (checked) as the encoder takes it: yuv420p, converted by swscale as PyAV
        would inside `encode` (BT.601, limited range, each 2x2 block's colour averaged, on the
        encoder's threads), so a frame converted here, in another thread, encodes the same.
        OpenCV's `COLOR_RGB2YUV_I420` costs a fifth as much, but its colour is point-sampled (up
        to 16 levels off the block's average at edges), and the prompt suite's measurer found 60
        of 63 motions in its videos against 62 (README). Another thread brings its own
        `reformatter` (swscale's context, made once and kept: making one a frame costs more than
        the conversion)."""
        threads = self._stream.codec_context.thread_count
        return (reformatter or self._reformatter).reformat(
            self._rgb(frame), self.width, self.height, "yuv420p", threads=threads
        )

    def _rgb(self, frame: np.ndarray) -> av.VideoFrame:
        """`frame`, checked, as PyAV's RGB frame."""
        self.check(frame)
        return av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")

    def check(self, frame: np.ndarray) -> None:
        """ValueError unless `frame` is an RGB uint8 frame of this writer's size."""
        expected = (self.height, self.width, 3)
        if frame.shape != expected or frame.dtype != np.uint8:
            raise ValueError(
                f"frame {self.frames_written} has shape {frame.shape} {frame.dtype}, "
                f"expected {expected} uint8"
            )

    def close(self) -> None:
        """Flush the encoder and finish the file; calling it again does nothing."""
        if self._closed:
            return
        self._closed = True
        try:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
            if self._audio_stream is not None and self.audio is not None:
                self._mux_audio(self.audio.padded(self.frames_written / self.fps))
        finally:
            self._container.close()
        logger.debug("wrote %d frames to %s", self.frames_written, self.path)

    def _mux_audio(self, audio: Audio) -> None:
        """Encode the (already padded) voice as AAC in frames of 1024 samples."""
        stream = self._audio_stream
        assert stream is not None
        pcm = np.clip(audio.samples, -1, 1).astype(np.float32)
        size = 1024
        for start in range(0, len(pcm), size):
            chunk = pcm[start : start + size]
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="flt", layout="mono")
            frame.sample_rate = audio.rate
            frame.pts = start
            for packet in stream.encode(frame):
                self._container.mux(packet)
        for packet in stream.encode(None):
            self._container.mux(packet)


class PipelinedWriter:
    """An Mp4Writer fed through a queue by its own thread, so that encoding one frame overlaps
    making the next (the encoder and the engine spend their time in C code that releases the GIL:
    x264, the colour conversion, OpenCV, NumPy). `write` checks the frame in the caller's thread
    (a wrong one is refused at once) and returns once it is queued (at most
    `depth` frames wait: two overlap as well as three or four on the portrait bench, and hold
    3-5 MB less at 720p); an encoder error is raised by the next `write` or by `close`.

    Where the queue is full, the encoder is the slower of the two, and the caller's thread makes
    the frame's colour conversion itself rather than wait (`converted_here`; the same planes
    either way): the time it would have waited does a ninth of the encoder's work. Where the
    engine is the slower, the queue is seldom full and the encoder's thread converts, as before.
    """

    def __init__(self, writer: Mp4Writer, depth: int = 2) -> None:
        self.writer = writer
        self._queue: queue.Queue[np.ndarray | av.VideoFrame | None] = queue.Queue(depth)
        self._error: BaseException | None = None
        self._reformatter = VideoReformatter()  # this (the caller's) thread's
        #: Frames whose colour conversion the caller's thread made (`write`).
        self.converted_here = 0
        self._thread = threading.Thread(target=self._work, name="mp4-encoder", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            frame = self._queue.get()
            if frame is None:
                return
            if self._error is not None:
                continue  # drain: the producer learns of the error on its next write
            try:
                self.writer.write(frame)
            except BaseException as exc:
                self._error = exc

    @property
    def frames_written(self) -> int:
        return self.writer.frames_written

    def write(self, frame: np.ndarray) -> None:
        if self._error is not None:
            raise self._error
        if self._queue.full():
            # The encoder is behind: rather than wait for it, this thread takes a share of its
            # work, the frame's colour conversion (the same swscale call, the same planes).
            self._queue.put(self.writer.convert(frame, self._reformatter))
            self.converted_here += 1
        else:
            self.writer.check(frame)
            self._queue.put(frame)

    def close(self) -> None:
        """Wait for the queued frames, then finish the file (raising an encoder error)."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        try:
            if self._error is not None:
                raise self._error
        finally:
            self.writer.close()

    def __enter__(self) -> PipelinedWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None and self._thread.is_alive():
            self._error = self._error or exc  # stop encoding what is left
            self._queue.put(None)
            self._thread.join()
            self.writer.close()
            return
        self.close()


@dataclass(frozen=True)
class VideoInfo:
    """What probe() found in a video file."""

    frames: int
    fps: float
    width: int
    height: int
    codec: str
    pix_fmt: str
    duration: float
    moov_first: bool
    #: The audio stream's codec and length in seconds ("" and 0.0 for a silent video).
    audio_codec: str = ""
    audio_duration: float = 0.0


def _top_level_boxes(path: Path) -> list[str]:
    """The types of the ISO-BMFF boxes at the top level of the file, in order."""
    boxes: list[str] = []
    size = path.stat().st_size
    with path.open("rb") as file:
        offset = 0
        while offset + 8 <= size:
            file.seek(offset)
            length, kind = struct.unpack(">I4s", file.read(8))
            if length == 1:  # a 64-bit size follows the type
                (length,) = struct.unpack(">Q", file.read(8))
            elif length == 0:  # the box runs to the end of the file
                length = size - offset
            boxes.append(kind.decode("latin-1"))
            if length < 8:
                break
            offset += length
    return boxes


def _moov_first(path: Path) -> bool:
    boxes = _top_level_boxes(path)
    if "moov" not in boxes:
        return False
    return "mdat" not in boxes or boxes.index("moov") < boxes.index("mdat")


def probe(path: Path) -> VideoInfo:
    """Describe the first video stream of a file; decodes every frame to count them."""
    path = Path(path)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        else:
            duration = frames / fps if fps else 0.0
        audio_codec, audio_duration = "", 0.0
        if container.streams.audio:
            a = container.streams.audio[0]
            audio_codec = a.codec_context.name
            if a.duration is not None and a.time_base is not None:
                audio_duration = float(a.duration * a.time_base)
        return VideoInfo(
            audio_codec=audio_codec,
            audio_duration=audio_duration,
            frames=frames,
            fps=fps,
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            codec=stream.codec_context.name,
            pix_fmt=stream.codec_context.pix_fmt or "",
            duration=duration,
            moov_first=_moov_first(path),
        )


def read_frames(path: Path, step: int = 1) -> Iterator[np.ndarray]:
    """Yield every `step`-th frame of the file's first video stream as RGB uint8."""
    if step < 1:
        raise ValueError(f"step must be at least 1, got {step}")
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for index, frame in enumerate(container.decode(stream)):
            if index % step == 0:
                yield frame.to_ndarray(format="rgb24")


def read_audio(path: Path) -> Audio | None:
    """The first audio stream of a file as 16 kHz mono, or None for a silent video."""
    from subject2video.media.audio import RATE

    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        chunks = []
        for frame in container.decode(container.streams.audio[0]):
            chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(frame)]
        chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    return Audio(samples.astype(np.float32), RATE)
