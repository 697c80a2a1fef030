"""Audio in and out: decoding an uploaded voice (WAV, MP3, M4A/AAC, OGG/Opus) with PyAV, checking
it, and the per-frame loudness the lips and the evaluator read.

Limits on an uploaded voice (each refusal names the parameter that carried it):

- at most `MAX_AUDIO_BYTES` (the image's byte limit) and `MAX_AUDIO_SECONDS` (12 s);
- a sample rate from 8 kHz to 96 kHz (`RATES`); it is resampled to 16 kHz mono, the rate the
  voice track and pocketsphinx use;
- not silent: its loudest 50 ms window must reach -50 dBFS RMS (`SILENCE_DBFS`);
- whole: a file whose decoding stops with an error, or whose decoded length falls well short of
  the length its header declares, is refused as truncated.
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass

import av
import numpy as np

from subject2video.contract import MAX_IMAGE_BYTES
from subject2video.errors import InputError

#: The rate of every voice track here (Hz): flite's, and pocketsphinx's model's.
RATE = 16000
MAX_AUDIO_BYTES = MAX_IMAGE_BYTES
MAX_AUDIO_SECONDS = 12.0
#: Accepted input sample rates (Hz).
RATES = (8000, 96000)
#: A voice whose loudest 50 ms stays below this (dBFS, RMS) is silence.
SILENCE_DBFS = -50.0
FORMATS = "WAV, MP3, M4A/AAC or OGG/Opus"


@dataclass
class Audio:
    """Mono float32 samples in [-1, 1] at `rate` Hz."""

    samples: np.ndarray
    rate: int = RATE

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate

    def padded(self, seconds: float) -> Audio:
        """This audio with silence after it up to `seconds` (cut there if longer)."""
        n = round(seconds * self.rate)
        out = np.zeros(n, np.float32)
        k = min(n, len(self.samples))
        out[:k] = self.samples[:k]
        return Audio(out, self.rate)

    def frame_rms(self, fps: float, frames: int) -> np.ndarray:
        """The RMS of each video frame's window (1/fps seconds from the frame's time)."""
        per = self.rate / fps
        out = np.zeros(frames)
        for i in range(frames):
            a, b = round(i * per), round((i + 1) * per)
            chunk = self.samples[a:b]
            out[i] = float(np.sqrt(np.mean(chunk.astype(np.float64) ** 2))) if len(chunk) else 0.0
        return out

    def peak_dbfs(self, window: float = 0.05) -> float:
        """The RMS level of the loudest `window`-second stretch, in dBFS."""
        n = max(1, round(window * self.rate))
        if len(self.samples) == 0:
            return -200.0
        usable = (
            self.samples[: len(self.samples) // n * n] if len(self.samples) >= n else self.samples
        )
        chunks = usable.reshape(-1, min(n, len(usable)))
        rms = np.sqrt(np.mean(chunks.astype(np.float64) ** 2, axis=1)).max()
        return float(20 * np.log10(max(rms, 1e-10)))


def read_wav(data: bytes) -> Audio:
    """A 16-bit PCM WAV (flite's output) as mono float32."""
    with wave.open(io.BytesIO(data)) as w:
        rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        raw = w.readframes(w.getnframes())
    if width != 2:
        raise ValueError(f"expected 16-bit PCM, got {8 * width}-bit")
    samples = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(1)
    audio = Audio(samples, rate)
    return resample(audio, RATE) if rate != RATE else audio


def resample(audio: Audio, rate: int) -> Audio:
    """Linear-interpolation resampling (voice bands only; enough for lips and recognition)."""
    if audio.rate == rate or len(audio.samples) == 0:
        return Audio(audio.samples, rate)
    n = round(len(audio.samples) * rate / audio.rate)
    old = np.arange(len(audio.samples)) / audio.rate
    new = np.arange(n) / rate
    return Audio(np.interp(new, old, audio.samples).astype(np.float32), rate)


def _wav_shortfall(data: bytes) -> int:
    """For a RIFF/WAVE file, how many bytes its data chunk declares beyond the file's end (0 for
    a whole file, a streamed one with no size, or another format)."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return 0
    at = 12
    while at + 8 <= len(data):
        kind, size = data[at : at + 4], int.from_bytes(data[at + 4 : at + 8], "little")
        if kind == b"data":
            if size in (0, 0xFFFFFFFF):
                return 0
            return max(0, size - (len(data) - at - 8))
        at += 8 + size + (size & 1)
    return 0


def load_audio(data: bytes, *, parameter: str) -> Audio:
    """Decode and check an uploaded voice; an `InputError` naming `parameter` says what is wrong."""

    def refuse(why: str) -> InputError:
        return InputError(f"{parameter} {why}", parameter=parameter)

    if len(data) > MAX_AUDIO_BYTES:
        raise refuse(f"is {len(data)} bytes; at most {MAX_AUDIO_BYTES // (1024 * 1024)} MB")
    if len(data) < 44:
        raise refuse(f"is {len(data)} bytes, too short to be audio; send {FORMATS}")
    short = _wav_shortfall(data)
    if short:
        raise refuse(f"is truncated: its WAV header declares {short} more bytes than it holds")
    try:
        container = av.open(io.BytesIO(data), mode="r")
    except (av.FFmpegError, ValueError) as exc:
        raise refuse(
            f"is not audio that can be read ({exc.__class__.__name__}); send {FORMATS}"
        ) from None
    with container:
        if not container.streams.audio:
            raise refuse(f"holds no audio stream; send {FORMATS}")
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate or stream.rate or 0
        if not RATES[0] <= rate <= RATES[1]:
            raise refuse(f"has a sample rate of {rate} Hz; accepted: {RATES[0]}-{RATES[1]} Hz")
        declared = None
        if stream.duration is not None and stream.time_base is not None:
            declared = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            declared = container.duration / 1_000_000
        if declared is not None and declared > MAX_AUDIO_SECONDS + 0.05:
            raise refuse(f"lasts {declared:.1f} s; at most {MAX_AUDIO_SECONDS:.0f} s")
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        chunks: list[np.ndarray] = []
        total = 0
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1)
                    chunks.append(chunk)
                    total += len(chunk)
                if total > (MAX_AUDIO_SECONDS + 0.5) * RATE:
                    raise refuse(f"lasts more than {MAX_AUDIO_SECONDS:.0f} s")
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except (av.FFmpegError, ValueError) as exc:
            raise refuse(
                f"is truncated or damaged: decoding stopped ({exc.__class__.__name__})"
            ) from None
    samples = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    audio = Audio(np.clip(samples, -1, 1), RATE)
    if audio.seconds > MAX_AUDIO_SECONDS + 0.05:
        raise refuse(f"lasts {audio.seconds:.1f} s; at most {MAX_AUDIO_SECONDS:.0f} s")
    if audio.seconds < 0.1:
        raise refuse("holds no sound (under 0.1 s decoded)")
    if declared is not None and audio.seconds < 0.8 * declared - 0.1:
        raise refuse(
            f"is truncated: its header says {declared:.1f} s, only {audio.seconds:.1f} s decode"
        )
    level = audio.peak_dbfs()
    if level < SILENCE_DBFS:
        raise refuse(
            f"is silent: its loudest 50 ms is {level:.0f} dBFS, below {SILENCE_DBFS:.0f} dBFS"
        )
    return audio
