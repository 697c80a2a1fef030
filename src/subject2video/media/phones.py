"""Phones in a voice track, from pocketsphinx's bundled US-English model (offline).

- `align(audio, text)`: forced alignment of a known transcript (a quoted line given with uploaded
  audio, or the evaluator's check of a TTS line);
- `recognise(audio)`: the words pocketsphinx hears, then their alignment;
- `word_accuracy(reference, heard)`: 1 - word error rate (the intelligibility measure).

When is there no phone model for a voice? `phones_for` returns no phones (and the lips follow the
audio's energy) when the transcript holds words outside the model's dictionary that are not
English spelling (another language), when alignment fails, or when recognition hears fewer than
one word per `MIN_WORD_RATE`⁻¹ seconds of voiced audio (too little confidence).
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

import numpy as np

from subject2video.media.audio import RATE, Audio
from subject2video.media.voice import Phone

#: Recognition that hears fewer words per second of voiced audio than this is not trusted.
MIN_WORD_RATE = 0.6
_LOCK = threading.Lock()
_WORDS = re.compile(r"[a-z]+(?:'[a-z]+)?")


def _pcm(audio: Audio) -> bytes:
    return (np.clip(audio.samples, -1, 1) * 32767).astype("<i2").tobytes()


@lru_cache(maxsize=1)
def _dictionary() -> frozenset[str]:
    from pocketsphinx import get_model_path

    words = set()
    with open(f"{get_model_path()}/en-us/cmudict-en-us.dict", encoding="utf-8") as file:
        for line in file:
            words.add(line.split(" ", 1)[0].split("(", 1)[0])
    return frozenset(words)


def words_of(text: str) -> list[str]:
    """The lower-case words of `text`, as the model's dictionary spells them."""
    return _WORDS.findall(text.lower().replace("\u2019", "'"))


def english(text: str) -> bool:
    """Whether every word of `text` is in the model's dictionary (so it can be aligned)."""
    words = words_of(text)
    vocab = _dictionary()
    return (
        bool(words)
        and all(w in vocab for w in words)
        and not re.search(r"[^\x00-\x7f\u2019\u201c\u201d\u2018]", text)
    )


def _decoder(**kw: object):  # type: ignore[no-untyped-def]
    from pocketsphinx import Decoder

    return Decoder(samprate=RATE, loglevel="FATAL", **kw)


def align(audio: Audio, text: str) -> list[Phone]:
    """The phones of `text` in `audio` by forced alignment; [] when it cannot be aligned."""
    words = [w for w in words_of(text) if w in _dictionary()]
    if not words:
        return []
    pcm = _pcm(audio)
    with _LOCK:
        try:
            decoder = _decoder(bestpath=False)
            decoder.set_align_text(" ".join(words))
            decoder.start_utt()
            decoder.process_raw(pcm, full_utt=True)
            decoder.end_utt()
            decoder.set_alignment()
            decoder.start_utt()
            decoder.process_raw(pcm, full_utt=True)
            decoder.end_utt()
            alignment = decoder.get_alignment()
        except (RuntimeError, ValueError):
            return []
        if alignment is None:
            return []
        phones = [
            Phone(p.name.lower().replace("sil", "pau"), p.start / 100, (p.start + p.duration) / 100)
            for word in alignment
            for p in word
        ]
    return phones


def recognise(audio: Audio) -> str:
    """The words pocketsphinx hears in `audio` ("" for none)."""
    with _LOCK:
        decoder = _decoder()
        decoder.start_utt()
        decoder.process_raw(_pcm(audio), full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
    return hyp.hypstr if hyp is not None else ""


def voiced_seconds(audio: Audio, floor_db: float = -40.0) -> float:
    """Seconds of `audio` whose 20 ms RMS is within 40 dB of its loudest."""
    n = RATE // 50
    usable = audio.samples[: len(audio.samples) // n * n].reshape(-1, n)
    if not len(usable):
        return 0.0
    rms = np.sqrt(np.mean(usable.astype(np.float64) ** 2, axis=1)) + 1e-9
    level = 20 * np.log10(rms / rms.max())
    return float((level > floor_db).sum()) / 50


def phones_for(audio: Audio, transcript: str | None) -> tuple[list[Phone], str, str]:
    """(phones, source, why) for an uploaded voice: its transcript aligned, else recognised;
    no phones (and `why`) where no phone model fits."""
    if transcript:
        if not english(transcript):
            return [], "", "the line is not in the English model's dictionary"
        phones = align(audio, transcript)
        if phones:
            return phones, "alignment", ""
        return [], "", "the line could not be aligned with the audio"
    heard = recognise(audio)
    words = words_of(heard)
    voiced = voiced_seconds(audio)
    if len(words) < MIN_WORD_RATE * voiced:
        return (
            [],
            "",
            (
                f"recognition heard {len(words)} words in {voiced:.1f} s of voice (under "
                f"{MIN_WORD_RATE} a second: too little confidence)"
            ),
        )
    phones = align(audio, heard)
    if not phones:
        return [], "", "the recognised words could not be aligned"
    return phones, "recognition", heard


def word_accuracy(reference: str, heard: str) -> float:
    """1 - word error rate of `heard` against `reference` (at least 0)."""
    ref, hyp = words_of(reference), words_of(heard)
    if not ref:
        return 0.0
    d = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, d[0] = d[0], i
        for j, h in enumerate(hyp, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (r != h))
    return max(0.0, 1 - d[len(hyp)] / len(ref))
