"""The speech measures on signals whose answer is known, and every refusal of an uploaded voice."""

from __future__ import annotations

import io
import wave

import av
import numpy as np
import pytest

from subject2video.errors import InputError
from subject2video.media.audio import RATE, load_audio
from subject2video.media.phones import align, word_accuracy
from subject2video.media.speaking import frames_for, speech_for
from subject2video.media.voice import Phone, check_voice
from subject2video.quality.speech import closures, intelligibility, lip_sync_r


def test_lip_sync_finds_the_lag_and_the_correlation() -> None:
    rng = np.random.default_rng(1)
    rms = np.abs(rng.normal(size=150))
    gaps = np.roll(rms, 2) * 0.3 + 0.01 * rng.normal(size=150)
    r, lag = lip_sync_r(gaps, rms)
    assert lag == 2 and r > 0.95
    r, _ = lip_sync_r(rng.normal(size=150), rms)
    assert r < 0.3


def test_closures_count_bilabials_closed_within_one_frame() -> None:
    gaps = np.full(50, 0.2)
    gaps[10] = 0.0  # the m's middle is frame 11: one frame off still counts
    phones = [Phone("m", 0.43, 0.47), Phone("b", 1.2, 1.24), Phone("aa", 0.5, 0.7)]
    assert closures(gaps, phones, 25) == (1, 2)


def test_word_accuracy_is_one_minus_the_word_error_rate() -> None:
    assert word_accuracy("the cat sat", "the cat sat") == 1.0
    assert word_accuracy("the cat sat on the mat", "the bat sat on mat") == pytest.approx(4 / 6)
    assert word_accuracy("hello", "") == 0.0


def tone_wav(seconds: float, rate: int = RATE, level: float = 0.3) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    samples = (level * np.sin(2 * np.pi * 220 * t) * 32767).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return out.getvalue()


def encoded(codec: str, fmt: str, seconds: float = 1.0) -> bytes:
    out = io.BytesIO()
    with av.open(out, "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=48000 if codec == "libopus" else RATE)
        stream.layout = "mono"
        t = np.arange(int(seconds * stream.rate)) / stream.rate
        pcm = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = stream.rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


@pytest.mark.parametrize(
    ("codec", "fmt"), [("aac", "mp4"), ("libmp3lame", "mp3"), ("libopus", "ogg")]
)
def test_compressed_voices_decode_to_16k_mono(codec: str, fmt: str) -> None:
    try:
        data = encoded(codec, fmt)
    except (av.FFmpegError, ValueError) as exc:  # an encoder this PyAV build lacks
        pytest.skip(f"no {codec} encoder: {exc}")
    audio = load_audio(data, parameter="audio")
    assert audio.rate == RATE and 0.8 < audio.seconds < 1.3


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"GIF89a" + bytes(200), "not audio"),
        (tone_wav(13.0), "at most 12 s"),
        (tone_wav(1.0, level=0.0), "silent"),
        (tone_wav(1.0, rate=4000), "sample rate of 4000 Hz"),
        (tone_wav(3.0)[: 44 + 2 * RATE], "truncated"),
        (b"RIFF", "too short"),
    ],
)
def test_bad_voices_are_refused_naming_the_parameter(data: bytes, words: str) -> None:
    with pytest.raises(InputError) as caught:
        load_audio(data, parameter="inputAudio")
    assert caught.value.parameter == "inputAudio"
    assert words in caught.value.message and "inputAudio" in caught.value.message


def test_a_voice_over_the_byte_limit_is_refused() -> None:
    from subject2video.media.audio import MAX_AUDIO_BYTES

    with pytest.raises(InputError, match="MB"):
        load_audio(bytes(MAX_AUDIO_BYTES + 1), parameter="audio")


def test_unknown_voices_and_unspeakable_lines_are_refused() -> None:
    with pytest.raises(InputError, match="female, male, scottish"):
        check_voice("robot")
    with pytest.raises(InputError, match="nothing speakable") as caught:
        speech_for('She says "... !!!"')
    assert caught.value.parameter == "prompt"


def test_length_rules() -> None:
    speech, note = speech_for('She says "Welcome to our shop, we are open every day."')
    assert speech is not None and "voice female" in note
    assert frames_for(speech, 25, fixed=6.0) == 150
    assert frames_for(speech, 25, given=8) == 200
    made = frames_for(speech, 25)
    assert 50 <= made <= 300 and made / 25 >= speech.audio.seconds
    long, _ = speech_for('She says "' + "we walked along the quiet river for hours " * 4 + '"')
    assert long is not None
    with pytest.raises(InputError, match=r"6\.0 s") as caught:
        frames_for(long, 25, fixed=6.0)
    assert caught.value.parameter == "prompt"
    with pytest.raises(InputError) as caught:
        frames_for(long, 25, given=4, length_parameter="duration")
    assert caught.value.parameter == "duration"
    assert speech_for("She smiles")[0] is None


@pytest.mark.slow
def test_alignment_and_intelligibility_of_a_flite_line() -> None:
    speech, _ = speech_for(
        'He says "Please remember to bring your umbrella tomorrow morning."', "male"
    )
    assert speech is not None
    accuracy, _ = intelligibility(speech.audio, speech.text)
    assert accuracy >= 0.75
    aligned = [p for p in align(speech.audio, speech.text) if p.phone != "pau"]
    flite = [p for p in speech.phones if p.phone != "pau"]
    # The aligner finds the same bilabials within a frame or two of flite's own timings.
    a = [p.start for p in aligned if p.phone in ("m", "b", "p")]
    f = [p.start for p in flite if p.phone in ("m", "b", "p")]
    assert len(a) == len(f)
    assert float(np.median([abs(x - y) for x, y in zip(a, f, strict=True)])) < 0.04
