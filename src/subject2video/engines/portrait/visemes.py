"""Mouth shapes (visemes) from timed phones, and the lip moves that draw them on the face mesh.

Each ARPAbet phone has a target shape over five channels: `mouth` (jaw opening, as the plan's
own channel), `round` (lips pushed forward and in: oo, w, oh), `spread` (corners out: ee),
`press` (lips closed and pressed: m, b, p) and `bite` (lower lip tucked under the upper teeth:
f, v), plus `tongue` (shown on l, th and wide vowels). Neighbouring shapes blend
(coarticulation): the targets are smoothed over about 60 ms, so a vowel's rounding starts in the
consonant before it. Bilabials are exact: on every m, b and p the lips are pressed shut in the
frame that holds its middle and in every frame it covers whole, whatever its neighbours are.
With the voice's own audio, the jaw opens with its loudness as well as its phones (`LOUDNESS`): a
loud vowel opens wider than a reduced one, as a speaker's jaw does.

Frame `i` shows the span from `i / fps` to `(i + 1) / fps` and is drawn at its middle: the
curves are read there, a phone's frame is the one whose span holds it, and the evaluator's
loudness is the RMS over the same span (quality/speech.py), so lips and sound share one clock.

Where no phone model fits (see media/phones.py), `energy_curves` opens the jaw with the audio's
loudness instead, and debugoutput says so.

Stressed syllables (the longer, louder vowels) raise the brows a little and nod the head a touch;
pauses of a phrase's length bring a blink.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from subject2video.engines.portrait import topology as T
from subject2video.engines.portrait.expression import FaceMeasures, _field
from subject2video.media.audio import Audio
from subject2video.media.voice import Phone

#: The viseme channels (besides the plan's `mouth`).
SHAPES = ("round", "spread", "press", "bite", "tongue")
_OPEN_VOWELS = {"aa", "ae", "ah", "ay", "aw", "ao"}
#: phone -> (mouth, round, spread, press, bite, tongue)
TARGETS: dict[str, tuple[float, ...]] = {
    "pau": (0.0, 0, 0, 0.6, 0, 0),
    "m": (0.0, 0, 0, 1, 0, 0), "b": (0.0, 0, 0, 1, 0, 0), "p": (0.0, 0, 0, 1, 0, 0),
    "f": (0.08, 0, 0.1, 0, 1, 0), "v": (0.08, 0, 0.1, 0, 1, 0),
    "w": (0.12, 1.0, 0, 0, 0, 0), "uw": (0.25, 0.9, 0, 0, 0, 0), "uh": (0.3, 0.6, 0, 0, 0, 0),
    "ow": (0.45, 0.8, 0, 0, 0, 0), "oy": (0.45, 0.6, 0, 0, 0, 0), "ao": (0.6, 0.45, 0, 0, 0, 0.3),
    "iy": (0.22, 0, 1.0, 0, 0, 0), "ih": (0.3, 0, 0.7, 0, 0, 0), "ey": (0.4, 0, 0.6, 0, 0, 0),
    "y": (0.18, 0, 0.6, 0, 0, 0), "eh": (0.5, 0, 0.35, 0, 0, 0.2),
    "aa": (0.85, 0, 0, 0, 0, 0.6), "ah": (0.6, 0, 0, 0, 0, 0.5), "ae": (0.75, 0, 0.3, 0, 0, 0.6),
    "ay": (0.75, 0, 0.2, 0, 0, 0.5), "aw": (0.75, 0.3, 0, 0, 0, 0.5), "ax": (0.4, 0, 0, 0, 0, 0.3),
    "er": (0.3, 0.5, 0, 0, 0, 0), "r": (0.22, 0.55, 0, 0, 0, 0),
    "l": (0.32, 0, 0.1, 0, 0, 1.0),
    "th": (0.22, 0, 0.2, 0, 0, 1.0), "dh": (0.22, 0, 0.2, 0, 0, 1.0),
    "s": (0.12, 0, 0.4, 0, 0, 0), "z": (0.12, 0, 0.4, 0, 0, 0),
    "sh": (0.16, 0.6, 0, 0, 0, 0), "zh": (0.16, 0.6, 0, 0, 0, 0),
    "ch": (0.16, 0.55, 0, 0, 0, 0), "jh": (0.16, 0.55, 0, 0, 0, 0),
    "t": (0.18, 0, 0.2, 0, 0, 0.3), "d": (0.2, 0, 0.2, 0, 0, 0.3), "n": (0.2, 0, 0.1, 0, 0, 0.3),
    "k": (0.25, 0, 0, 0, 0, 0), "g": (0.25, 0, 0, 0, 0, 0), "ng": (0.2, 0, 0, 0, 0, 0),
    "hh": (0.35, 0, 0, 0, 0, 0),
}  # fmt: skip
_DEFAULT = (0.25, 0, 0, 0, 0, 0)
#: Coarticulation: the targets are smoothed with a Gaussian of this many seconds.
BLEND = 0.03
_STEP = 0.005
#: With the audio, the jaw opens to `LOUDNESS + (1 - LOUDNESS) * level` of a phone's target,
#: `level` the frame's RMS over the track's 90th percentile of voiced frames (at most 1), and
#: `ENERGY` of the jaw's opening is loudness alone (`OPEN` at full level, about an "ah"), held
#: back as far as the lips are pressed: a speaker's jaw drops further on louder syllables, and
#: the phones' own heights (a loud "ee" is a small opening) then pull less against the sound.
LOUDNESS = 0.1
ENERGY = 0.3
OPEN = 0.6


def _target(phone: str) -> tuple[float, ...]:
    return TARGETS.get(phone.lower().rstrip("012"), _DEFAULT)


def frame_of(seconds: float, fps: float) -> int:
    """The frame whose span holds the instant `seconds` (frame `i` spans `[i, i + 1) / fps`)."""
    return int(np.floor(seconds * fps + 1e-9))


def loudness(audio: Audio, frames: int, fps: int) -> np.ndarray:
    """Per frame, the audio's level in [0, 1]: its RMS over the 90th percentile of the voiced
    frames', lightly smoothed."""
    rms = audio.frame_rms(fps, frames)
    voiced = rms[rms > 1e-4]
    top = float(np.quantile(voiced, 0.9)) if len(voiced) else 1.0
    level = np.clip(rms / max(top, 1e-6), 0.0, 1.0)
    return np.convolve(np.pad(level, 1, mode="edge"), [0.25, 0.5, 0.25], "valid")


def _with_loudness(
    mouth: np.ndarray,
    press: np.ndarray,
    level: np.ndarray,
    fps: int,
    silent: Sequence[tuple[float, float]],
) -> np.ndarray:
    """The jaw from the phones' targets and the audio's level (`LOUDNESS`, `ENERGY`); spans in
    `silent` (a mouthed line has phones but no sound) keep the phones' opening."""
    loud = (1 - ENERGY) * mouth * (LOUDNESS + (1 - LOUDNESS) * level)
    loud += ENERGY * OPEN * level * np.clip(1.0 - press, 0.0, 1.0)
    middles = (np.arange(len(mouth)) + 0.5) / fps
    for start, end in silent:
        inside = (middles >= start) & (middles < end)
        loud[inside] = mouth[inside]
    return loud


def viseme_curves(
    phones: list[Phone],
    frames: int,
    fps: int,
    silent_gain: float = 1.0,
    audio: Audio | None = None,
    silent: Sequence[tuple[float, float]] = (),
) -> dict[str, np.ndarray]:
    """Per-frame curves of `mouth` and the `SHAPES` for timed phones; with `audio`, the jaw
    also follows its loudness (`loudness`)."""
    duration = frames / fps
    t = np.arange(0, duration + 0.2, _STEP)
    # Before the first phone and after the last the lips rest together, as between phrases.
    raw = np.tile(np.array(TARGETS["pau"], float), (len(t), 1))
    for phone in phones:
        a, b = np.searchsorted(t, [phone.start, phone.end])
        raw[a:b] = _target(phone.phone)
    sigma = BLEND / _STEP
    radius = int(3 * sigma)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    smooth = np.stack(
        [np.convolve(np.pad(raw[:, k], radius, mode="edge"), kernel, "valid") for k in range(6)], 1
    )
    times = (np.arange(frames) + 0.5) / fps
    at = np.clip(np.searchsorted(t, times), 0, len(t) - 1)
    values = smooth[at]
    curves = {"mouth": values[:, 0] * silent_gain}
    for k, name in enumerate(SHAPES, 1):
        curves[name] = values[:, k]
    if audio is not None:
        level = loudness(audio, frames, fps)
        curves["mouth"] = _with_loudness(curves["mouth"], curves["press"], level, fps, silent)
    # Bilabials are exact: shut in the frame that holds the phone's middle and in every frame
    # the phone covers whole. (Not `round(middle * fps)`: that is the frame starting nearest
    # the middle, half a frame late on average, and the lips trailed the sound.)
    for phone in phones:
        if phone.phone.lower() in ("m", "b", "p"):
            first, last = int(np.ceil(phone.start * fps - 1e-9)), frame_of(phone.end, fps) - 1
            shut = {frame_of((phone.start + phone.end) / 2, fps), *range(first, last + 1)}
            for index in shut:
                if 0 <= index < frames:
                    curves["mouth"][index] = 0.0
                    curves["press"][index] = 1.0
                    curves["round"][index] *= 0.5
    return curves


def energy_curves(audio: Audio, frames: int, fps: int) -> dict[str, np.ndarray]:
    """Jaw opening from loudness alone (no phone model fits): RMS per frame, normalised to its
    95th percentile, compressed, lightly smoothed."""
    rms = audio.frame_rms(fps, frames)
    top = float(np.quantile(rms, 0.95)) if np.any(rms) else 1.0
    level = np.clip(rms / max(top, 1e-6), 0, 1) ** 0.7
    floor = 0.12
    level = np.clip((level - floor) / (1 - floor), 0, 1)
    smooth = np.convolve(np.pad(level, 1, mode="edge"), [0.25, 0.5, 0.25], "valid")
    curves = {"mouth": 0.8 * smooth}
    for name in SHAPES:
        curves[name] = np.zeros(frames)
    curves["tongue"] = 0.4 * smooth
    return curves


def accents(phones: list[Phone], frames: int, fps: int) -> tuple[list[float], list[float]]:
    """(stressed vowel times, phrase-pause times): the longest third of the vowels, and pauses
    of at least 0.25 s between words."""
    vowels = [p for p in phones if _target(p.phone)[0] >= 0.4 and p.phone != "hh"]
    stressed: list[float] = []
    if vowels:
        cut = np.quantile([p.end - p.start for p in vowels], 0.66)
        stressed = [p.start for p in vowels if p.end - p.start >= cut]
    pauses = [
        p.start for i, p in enumerate(phones)
        if p.phone == "pau" and p.end - p.start >= 0.25 and 0 < i < len(phones) - 1
    ]  # fmt: skip
    end = frames / fps
    return [s for s in stressed if s < end], [s for s in pauses if s < end]


def shape(p: np.ndarray, rest: np.ndarray, m: FaceMeasures, v: dict[str, float]) -> None:
    """Move the lips of mesh `p` (468+, 3) in place for the viseme channels in `v`."""
    mw = m.mouth_width
    settle = v.get("settle", 0.0)
    if settle > 0.01:
        # Speaking from a photo whose lips are parted (a word caught mid-speech, a smile): the
        # jaw first closes the photo's own gap, so that it opens from closed lips and a silence
        # or a consonant shows them together; else the photo's opening stays under every phone
        # and the mouth reads open in the pauses.
        upper, lower = list(T.LIP_INNER_UPPER[2:-2]), list(T.LIP_INNER_LOWER[2:-2])
        parted = float(np.mean(rest[lower, 1] - rest[upper, 1]))
        if parted > 0:
            p[:, 1] -= m.jaw * parted * settle
    rounding, spread = v.get("round", 0.0), v.get("spread", 0.0)
    press, bite = v.get("press", 0.0), v.get("bite", 0.0)
    if rounding > 0.01:
        # Corners come in, the lips push forward and gather: a small round opening.
        for corner, out in ((61, -1.0), (291, 1.0)):
            _field(p, rest, rest[corner], np.array([-out * 0.13 * mw * rounding, 0.0]), 0.12 * mw)
        lips = list(T.LIP_OUTER_UPPER + T.LIP_OUTER_LOWER)
        p[lips, 2] -= 0.08 * mw * rounding
        upper, lower = list(T.LIP_OUTER_UPPER[2:-2]), list(T.LIP_OUTER_LOWER[2:-2])
        p[upper, 1] -= 0.025 * mw * rounding
        p[lower, 1] += 0.025 * mw * rounding
    if spread > 0.01:
        for corner, out in ((61, -1.0), (291, 1.0)):
            move = np.array([out * 0.06 * mw, -0.015 * mw]) * spread
            _field(p, rest, rest[corner], move, 0.12 * mw)
    closing = max(press, 0.85 * bite)
    if closing > 0.01:
        # The jaw comes up until the lower lip meets the upper (pressed), or until it sits under
        # the upper teeth (f/v): the lower lip moves whole, so it keeps its thickness, and the
        # chin follows with the jaw's own weights.
        upper = p[list(T.LIP_INNER_UPPER[2:-2]), 1]
        lower = p[list(T.LIP_INNER_LOWER[2:-2]), 1]
        gap = float(np.mean(lower - upper))
        lift = max(0.0, gap) * closing
        if bite > press:
            lift += 0.03 * mw * bite  # tucked a little above the lip line
        else:
            lift += 0.025 * mw * press  # pressed: the lips squeeze a little
        p[:, 1] -= m.jaw * lift
        # Where the inner lower lip still sits below the upper (a curved mouth), it closes the
        # rest of the way; the outer lower lip goes with it.
        inner_upper = p[list(T.LIP_INNER_UPPER), 1]
        ids = list(T.LIP_INNER_LOWER)
        rest_gap = np.maximum(p[ids, 1] - inner_upper, 0.0) * closing
        p[ids, 1] -= rest_gap
        p[list(T.LIP_OUTER_LOWER), 1] -= rest_gap
        p[list(T.LIP_OUTER_LOWER), 2] += 0.05 * mw * bite
