"""Phones to mouth shapes: closures on m/b/p, rounding, spreading, an open jaw, blending; the
voice track muxed into the MP4 beside the video, both the same length."""

from __future__ import annotations

import itertools
from pathlib import Path

import av
import numpy as np
import pytest

from subject2video.engines.portrait.plan import plan_motion
from subject2video.engines.portrait.visemes import OPEN, energy_curves, viseme_curves
from subject2video.media.audio import RATE, Audio
from subject2video.media.video import Mp4Writer, probe, read_audio
from subject2video.media.voice import Phone, Speech, speak
from subject2video.prompts import Line
from subject2video.quality.speech import lip_sync_r

FPS = 25


def frame_of(phone: Phone) -> int:
    """The frame whose span holds the phone's middle (frame i spans [i, i + 1) / FPS)."""
    return int((phone.start + phone.end) / 2 * FPS)


@pytest.fixture(scope="module")
def line() -> Speech:
    return speak([Line("Maybe we should meet by the blue pool, father.", "say", (0, 0))], "female")


def test_the_lips_close_on_every_bilabial(line: Speech) -> None:
    curves = viseme_curves(line.phones, 150, FPS)
    bilabials = [p for p in line.phones if p.phone in ("m", "b", "p")]
    assert len(bilabials) >= 4
    for phone in bilabials:
        index = frame_of(phone)
        assert curves["mouth"][index] == 0.0 and curves["press"][index] == 1.0, phone


@pytest.mark.parametrize(
    ("phones", "channel"),
    [(("uw", "w"), "round"), (("iy",), "spread"), (("f", "v"), "bite"), (("l", "th"), "tongue")],
)
def test_each_class_of_phone_has_its_shape(line: Speech, phones: tuple, channel: str) -> None:
    curves = viseme_curves(line.phones, 150, FPS)
    found = [p for p in line.phones if p.phone in phones and p.end - p.start > 0.04]
    assert found
    for phone in found:
        assert curves[channel][frame_of(phone)] > 0.3, (phone, curves[channel][frame_of(phone)])


def test_open_vowels_open_the_jaw_wider_than_consonants() -> None:
    phones = [
        Phone("pau", 0, 0.2),
        Phone("aa", 0.2, 0.5),
        Phone("s", 0.5, 0.8),
        Phone("pau", 0.8, 1),
    ]
    mouth = viseme_curves(phones, 25, FPS)["mouth"]
    assert mouth[int(0.35 * FPS)] > 0.6 > 0.2 > mouth[int(0.7 * FPS)]
    assert mouth[0] == 0.0


def test_a_bilabial_shuts_the_frame_that_holds_it_not_the_next() -> None:
    """An m whose middle lies late in frame 7 (0.304 s: 7.6 frames) shuts frame 7; frame 8
    (0.32-0.36 s) is the open vowel after it. (Shutting the frame that *starts* nearest the
    middle, `round(7.6) = 8`, held the lips shut after the sound had opened: they trailed.)"""
    phones = [Phone("pau", 0, 0.29), Phone("m", 0.29, 0.318), Phone("aa", 0.318, 0.6)]
    mouth = viseme_curves(phones, 20, FPS)["mouth"]
    assert mouth[7] == 0.0
    assert mouth[8] > 0.2, mouth[6:10]


def _tone(levels: list[tuple[float, float]], seconds: float = 1.0) -> Audio:
    """A 220 Hz tone whose amplitude is `level` from each `start` (seconds) on."""
    t = np.arange(int(seconds * RATE)) / RATE
    amplitude = np.zeros_like(t)
    for start, level in levels:
        amplitude[t >= start] = level
    return Audio((np.sin(2 * np.pi * 220 * t) * amplitude).astype(np.float32))


def test_a_louder_vowel_opens_the_jaw_wider() -> None:
    """With the voice's audio the jaw follows its loudness; a mouthed span (phones without
    sound) keeps its phones' full opening."""
    phones = [
        Phone("pau", 0, 0.1),
        Phone("aa", 0.1, 0.5),
        Phone("aa", 0.5, 0.9),
        Phone("pau", 0.9, 1),
    ]
    audio = _tone([(0.0, 0.5), (0.5, 0.1)])
    mouth = viseme_curves(phones, 25, FPS, audio=audio)["mouth"]
    assert mouth[7] > 1.5 * mouth[17] > 0
    assert mouth[7] == pytest.approx(OPEN, abs=0.05)  # the track's loud level: wide open
    plain = viseme_curves(phones, 25, FPS)["mouth"]
    mouthed = viseme_curves(phones, 25, FPS, audio=Audio(np.zeros(RATE, np.float32)),
                            silent=[(0.0, 1.0)])["mouth"]  # fmt: skip
    assert np.allclose(mouthed, plain)


def test_a_loud_ey_opens_wider_than_a_quieter_ah() -> None:
    """The jaw is a monotonic function of the loudness, whatever the vowel: the loud "ey" of
    "baker" used to open less than a quieter "ah" (the phones' heights, scaled by loudness),
    and the lips drifted off the sound."""
    phones = [Phone("pau", 0, 0.1), Phone("ey", 0.1, 0.5), Phone("aa", 0.5, 0.9),
              Phone("pau", 0.9, 1)]  # fmt: skip
    mouth = viseme_curves(phones, 25, FPS, audio=_tone([(0.0, 0.5), (0.5, 0.3)]))["mouth"]
    ey, ah = mouth[7], mouth[17]
    assert ey > ah + 0.1, (ey, ah)


def test_the_jaw_rises_and_falls_with_the_loudness_on_one_vowel() -> None:
    """A vowel held while the voice swells and fades: the opening follows the level up and
    down, step by step."""
    levels = [0.1, 0.25, 0.45, 0.7, 1.0, 1.0, 1.0, 0.7, 0.45, 0.25, 0.1]
    steps = [(0.1 + 0.1 * k, level) for k, level in enumerate(levels)]
    phones = [Phone("pau", 0, 0.1), Phone("eh", 0.1, 1.2), Phone("pau", 1.2, 1.3)]
    audio = _tone([(0.0, 0.0), *steps, (1.2, 0.0)], 1.3)
    mouth = viseme_curves(phones, 32, FPS, audio=audio)["mouth"]
    # Each step's middle (0.05 s in) lies inside one frame.
    middles = [mouth[int((start + 0.05) * FPS)] for start, _ in steps]
    rising, falling = middles[:5], middles[6:]
    assert all(b > a + 0.05 for a, b in itertools.pairwise(rising)), middles
    assert all(b < a - 0.05 for a, b in itertools.pairwise(falling)), middles


def test_a_loud_nasal_does_not_open_wide() -> None:
    """ "n" as loud as the vowel beside it opens the jaw much less: the tongue closes the mouth
    behind the teeth and the jaw stays up."""
    phones = [Phone("pau", 0, 0.1), Phone("aa", 0.1, 0.5), Phone("n", 0.5, 0.9),
              Phone("pau", 0.9, 1)]  # fmt: skip
    mouth = viseme_curves(phones, 25, FPS, audio=_tone([(0.0, 0.5)]))["mouth"]
    assert mouth[17] < 0.7 * mouth[7], (mouth[7], mouth[17])
    assert mouth[17] > 0.2  # not shut either: a nasal's lips are apart


def test_the_lips_part_in_the_frame_where_a_bilabial_ends() -> None:
    """The lips press shut on the m and part for the loud vowel after it: the frame that holds
    the release (half m, half vowel) is open about half way. (With the jaw held up by the m's
    blend as well as the lips' press, it was closed twice over: under a third.)"""
    phones = [Phone("pau", 0, 0.2), Phone("m", 0.2, 0.3), Phone("aa", 0.3, 0.7),
              Phone("pau", 0.7, 0.8)]  # fmt: skip
    curves = viseme_curves(phones, 20, FPS, audio=_tone([(0.0, 0.5)], 0.8))
    assert curves["mouth"][6] == 0.0 and curves["press"][6] == 1.0
    release = 7  # 0.28-0.32 s
    opening = curves["mouth"] * (1 - curves["press"])  # the lips' press closes that share
    assert opening[release] > 0.45 * OPEN, opening[5:10]
    assert opening[release + 1] > 0.9 * OPEN


@pytest.mark.parametrize("voice", ["female", "male", "scottish"])
def test_the_planned_lips_peak_with_the_sound_at_lag_zero(voice: str) -> None:
    """The plan's jaw against the voice's own per-frame RMS (the evaluator's measure, with the
    plan in place of dlib): best lag within one frame, r at least 0.5."""
    for text in ("I am proud of what we made together.", "Our baker makes fresh bread."):
        speech = speak([Line(text, "say", (0, 0))], voice)
        frames = int(np.ceil((speech.audio.seconds + 0.4) * FPS))
        mouth = plan_motion(f'She says "{text}"', 1, frames, FPS, speech).curves["mouth"]
        r, lag = lip_sync_r(mouth, speech.audio.frame_rms(FPS, frames))
        assert abs(lag) <= 1 and r >= 0.5, (voice, text, r, lag)


def test_neighbouring_shapes_blend() -> None:
    """Coarticulation: the rounding of "oo" starts before its phone does."""
    phones = [Phone("s", 0, 0.2), Phone("uw", 0.2, 0.4), Phone("pau", 0.4, 0.6)]
    curves = viseme_curves(phones, 15, FPS)
    before = curves["round"][int(0.18 * FPS)]
    assert 0.05 < before < curves["round"][int(0.3 * FPS)]


def test_loudness_drives_the_jaw_without_a_phone_model() -> None:
    t = np.arange(2 * RATE) / RATE
    samples = (np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 2 * t) > 0)).astype(np.float32)
    mouth = energy_curves(Audio(samples), 50, FPS)["mouth"]
    loud = np.sin(2 * np.pi * 2 * (np.arange(50) + 0.5) / FPS) > 0
    assert mouth[loud].mean() > 0.5 > 0.2 > mouth[~loud].mean()
    plan = plan_motion('She says "hola"', 1, 50, FPS, Speech(Audio(samples), [], "", []))
    assert "the jaw follows the audio's energy" in plan.describe()


def test_speech_replaces_random_talking_and_quotes_direct_nothing(line: Speech) -> None:
    plan = plan_motion('She says "smile and nod" and turns left', 3, 150, FPS, line)
    kinds = [m.kind for m in plan.motions]
    assert kinds == ["turn_left"]
    assert "phones from flite" in plan.describe()
    silent = plan_motion('She says "smile and nod" and turns left', 3, 150, FPS)
    assert "talk" in [m.kind for m in silent.motions]


def test_the_voice_track_is_aac_padded_to_the_video(tmp_path: Path, line: Speech) -> None:
    path = tmp_path / "v.mp4"
    with Mp4Writer(path, 64, 64, FPS, audio=line.audio) as writer:
        for i in range(150):
            writer.write(np.full((64, 64, 3), i, np.uint8))
    info = probe(path)
    assert info.audio_codec == "aac" and info.frames == 150
    assert abs(info.audio_duration - info.duration) <= 0.1
    audio = read_audio(path)
    assert audio is not None and abs(audio.seconds - 6.0) <= 0.1
    # The speech is there at the start and silence after it.
    speaking = audio.frame_rms(FPS, 150)
    spoken = int(line.audio.seconds * FPS)
    assert speaking[5 : spoken - 5].mean() > 0.02 and speaking[spoken + 5 :].max() < 0.005


def test_the_voice_starts_with_the_video_to_the_sample(tmp_path: Path) -> None:
    """Clicks at known times come back at those times (AAC's 1024-sample priming is skipped by
    the MP4's edit list), both streams start at 0 and end within 0.1 s of each other."""
    clicks = np.zeros(3 * RATE - 300, np.float32)  # not a whole number of AAC frames
    at = [int(0.5 * RATE), int(1.0 * RATE), int(2.2 * RATE)]
    for start in at:
        clicks[start : start + 40] = 0.8
    path = tmp_path / "c.mp4"
    with Mp4Writer(path, 64, 64, FPS, audio=Audio(clicks)) as writer:
        for _ in range(75):
            writer.write(np.zeros((64, 64, 3), np.uint8))
    with av.open(str(path)) as container:
        starts = {s.type: float(s.start_time * s.time_base) for s in container.streams}
    assert starts == {"video": 0.0, "audio": 0.0}
    info = probe(path)
    assert abs(info.audio_duration - info.duration) <= 0.1 and info.duration == 3.0
    audio = read_audio(path)
    assert audio is not None
    found = [start - 40 + int(np.argmax(audio.samples[start - 40 : start + 200] > 0.4))
             for start in at]  # fmt: skip
    assert all(abs(f - a) <= 16 for f, a in zip(found, at, strict=True)), (found, at)


def test_a_silent_video_has_no_audio_stream(tmp_path: Path) -> None:
    path = tmp_path / "s.mp4"
    with Mp4Writer(path, 64, 64, FPS) as writer:
        writer.write(np.zeros((64, 64, 3), np.uint8))
    assert probe(path).audio_codec == "" and read_audio(path) is None
