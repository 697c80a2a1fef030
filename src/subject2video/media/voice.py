"""The person's voice: a quoted line spoken by flite, with the phone timings flite reports.

flite (Debian's `flite` package, CMU's permissive licence) was chosen over espeak-ng (GPL-3) and
festival by measurement (README, "Speech"): its voices are more intelligible to pocketsphinx,
it reports each phone's end time as it speaks (`-psdur`), so the lips need no second pass, and a
line of ten words takes about 0.1 s. It runs as a subprocess, so nothing of it is linked in.

Example::

    speech = speak([Line("Welcome to our shop.", "say", (0, 0))], "female")
    speech.audio.seconds, speech.phones[:3]
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from subject2video.contract import VOICES as CONTRACT_VOICES
from subject2video.errors import InputError
from subject2video.media.audio import RATE, Audio, read_wav
from subject2video.prompts import Line


@dataclass(frozen=True)
class Voice:
    """One of flite's built-in voices."""

    name: str
    flite: str
    description: str


#: The voices a caller can pick with `voice`; the first is the default.
VOICES: dict[str, Voice] = {
    v.name: v
    for v in (
        Voice("female", "slt", "US English, female (flite slt)"),
        Voice("male", "rms", "US English, male (flite rms)"),
        Voice("scottish", "awb", "Scottish English, male (flite awb)"),
    )
}
DEFAULT_VOICE = "female"
assert tuple(VOICES) == CONTRACT_VOICES, "contract.VOICES lists the same voices"
#: Pause between two quoted lines (seconds).
GAP = 0.25
#: How each manner of speaking changes the voice: flite settings and a gain.
_MANNER: dict[str, tuple[list[str], float]] = {
    "say": ([], 1.0),
    "ask": ([], 1.0),
    "mouth": ([], 0.0),
    "shout": (["--setf", "duration_stretch=0.9", "--setf", "int_f0_target_mean=170"], 1.0),
    "whisper": (["--setf", "duration_stretch=1.1"], 0.35),
}
_SPEAKABLE = re.compile(r"[A-Za-z0-9]")


@dataclass(frozen=True)
class Phone:
    """One phone (CMU ARPAbet, lower case, "pau" for silence) and its time in the track."""

    phone: str
    start: float
    end: float


@dataclass
class Speech:
    """A voice track and its phones, each timed in the track's seconds."""

    audio: Audio
    phones: list[Phone]
    #: Where the phones came from: "flite", "alignment", "recognition" or "" (none).
    source: str
    #: (start, end) of spans whose lips move without sound.
    silent: list[tuple[float, float]]
    text: str = ""


def voice_names() -> list[str]:
    return list(VOICES)


def check_voice(name: str | None, parameter: str = "voice") -> Voice:
    """The voice called `name` (the default for None or ""); an input error names the choices."""
    if not name:
        return VOICES[DEFAULT_VOICE]
    key = str(name).strip().lower()
    by_flite = {v.flite: v for v in VOICES.values()}
    if key in VOICES:
        return VOICES[key]
    if key in by_flite:
        return by_flite[key]
    raise InputError(
        f"{parameter} {name!r} is not a voice here; choose one of {', '.join(VOICES)}",
        parameter=parameter,
    )


def check_line(text: str, parameter: str = "prompt") -> None:
    """Refuse a line with nothing to say (no letter or digit)."""
    if not _SPEAKABLE.search(text):
        raise InputError(
            f"the quoted line {text!r} in {parameter} has nothing speakable (no letters or "
            "digits); put words between the quotes",
            parameter=parameter,
        )


def flite_path() -> str:
    path = shutil.which("flite")
    if path is None:
        raise RuntimeError(
            "flite is not installed: `make install` installs the Debian packages listed in "
            "requirements/system.txt (or: apt-get install flite)"
        )
    return path


def _one(text: str, voice: Voice, manner: str) -> tuple[np.ndarray, list[Phone]]:
    settings, _ = _MANNER.get(manner, _MANNER["say"])
    with tempfile.TemporaryDirectory(prefix="s2v-voice-") as tmp:
        out = Path(tmp) / "line.wav"
        # The text goes as one argument after -t: no shell, and a leading dash stays text.
        done = subprocess.run(
            [flite_path(), "-voice", voice.flite, *settings, "-psdur", "-o", str(out),
             "-t", " " + text],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if done.returncode != 0 or not out.exists():
            raise RuntimeError(f"flite failed ({done.returncode}): {done.stderr.strip()[:200]}")
        audio = read_wav(out.read_bytes())
    phones: list[Phone] = []
    start = 0.0
    for item in done.stdout.split():
        name, _, end = item.rpartition(":")
        try:
            stop = float(end)
        except ValueError:
            continue
        phones.append(Phone(name, start, stop))
        start = stop
    return audio.samples, phones


def speak(lines: list[Line], voice: str | Voice | None = None, parameter: str = "prompt") -> Speech:
    """Synthesise `lines` one after another with a short pause; mouthed lines stay silent."""
    chosen = voice if isinstance(voice, Voice) else check_voice(voice)
    pieces: list[np.ndarray] = []
    phones: list[Phone] = []
    silent: list[tuple[float, float]] = []
    at = 0.0
    for index, line in enumerate(lines):
        check_line(line.text, parameter)
        samples, timed = _one(line.text, chosen, line.manner)
        gain = _MANNER.get(line.manner, _MANNER["say"])[1]
        if index:
            pieces.append(np.zeros(round(GAP * RATE), np.float32))
            at += GAP
        length = len(samples) / RATE
        if gain == 0.0:
            silent.append((at, at + length))
        pieces.append((samples * gain).astype(np.float32))
        phones += [Phone(p.phone, p.start + at, p.end + at) for p in timed]
        at += length
    samples = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    text = " ".join(line.text for line in lines)
    return Speech(Audio(samples, RATE), phones, "flite", silent, text)
