"""Mouth shapes (visemes) from timed phones, and the lip moves that draw them on the face mesh.

Each ARPAbet phone has a target shape over five channels: `mouth` (jaw opening, as the plan's
own channel), `round` (lips pushed forward and in: oo, w, oh), `spread` (corners out: ee),
`press` (lips closed and pressed: m, b, p) and `bite` (lower lip tucked under the upper teeth:
f, v), plus `tongue` (shown on l, th and wide vowels). Neighbouring shapes blend
(coarticulation): the targets are smoothed over about 60 ms, so a vowel's rounding starts in the
consonant before it. Bilabials are exact: on every m, b and p the lips are pressed shut in the
frame that holds its middle and in every frame it covers whole, whatever its neighbours are.
With the voice's own audio, the jaw's opening is the frame's loudness, allowed by its phone
(`OPEN`, `JAW`): a louder syllable opens wider than a quieter one whatever its vowel, as a
speaker's jaw does, pauses are shut, and nasals, sibilants and f/v keep the jaw up however loud
they are. (The phones' own heights, scaled by loudness, let a loud "ey" open less than a quiet
"ah", and the lips drifted off the sound.)

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
#: Coarticulation: the targets are smoothed with a Gaussian of this many seconds; `press` with
#: a narrower one (the lips meet and part faster than the jaw moves).
BLEND = 0.03
PRESS_BLEND = 0.02
_STEP = 0.005
#: With the voice's audio, the jaw opens to `OPEN * level * JAW[phone]`: `level` is the
#: frame's RMS over the track's loud level (`loudness`), so a louder syllable always opens
#: wider, whatever its vowel (a loud "ey" as much as an "ah"), and silence shuts the lips.
#: `JAW` is how far each class of phone lets the jaw follow the sound: every vowel fully (the
#: close ones, "ee" and "oo", a little less), nasals and stops part way (the tongue, not the
#: lips, closes them, and the jaw stays up: a loud "n" does not open wide), sibilants, "th"
#: and f/v little (the teeth come together). m, b and p follow the sound too: their lips press
#: shut (`press`, and exactly on their own frames), and a jaw held up as well closed the vowels
#: on either side twice over.
OPEN = 0.75
JAW: dict[str, float] = {
    "pau": 0.0,
    "f": 0.25, "v": 0.25,
    "s": 0.4, "z": 0.4, "sh": 0.45, "zh": 0.45, "ch": 0.45, "jh": 0.45,
    "th": 0.5, "dh": 0.5,
    "n": 0.6, "ng": 0.6, "t": 0.6, "d": 0.6, "k": 0.7, "g": 0.7,
    "iy": 0.85, "uw": 0.85,
}  # fmt: skip
#: Every other phone (vowels, l, r, w, y, hh) lets the jaw follow the sound fully.
_JAW_DEFAULT = 1.0


def _target(phone: str) -> tuple[float, ...]:
    return TARGETS.get(_base(phone), _DEFAULT)


def _base(phone: str) -> str:
    return phone.lower().rstrip("012")


def frame_of(seconds: float, fps: float) -> int:
    """The frame whose span holds the instant `seconds` (frame `i` spans `[i, i + 1) / fps`)."""
    return int(np.floor(seconds * fps + 1e-9))


def loudness(audio: Audio, frames: int, fps: int) -> np.ndarray:
    """Per frame, the audio's level in [0, 1]: its RMS over the 90th percentile of the voiced
    frames', lightly smoothed (the jaw cannot jump in a frame, but a heavier smoothing lets
    it trail the sound)."""
    rms = audio.frame_rms(fps, frames)
    voiced = rms[rms > 1e-4]
    top = float(np.quantile(voiced, 0.9)) if len(voiced) else 1.0
    level = np.clip(rms / max(top, 1e-6), 0.0, 1.0)
    return np.convolve(np.pad(level, 1, mode="edge"), [0.15, 0.7, 0.15], "valid")


def _blended(
    phones: list[Phone],
    rows: np.ndarray,
    rest: np.ndarray,
    frames: int,
    fps: int,
    blend: float = BLEND,
) -> np.ndarray:
    """Per frame, each phone's row of `rows` (its targets), blended over `blend` seconds and
    read at the frame's middle; before the first phone and after the last, `rest`."""
    t = np.arange(0, frames / fps + 0.2, _STEP)
    raw = np.tile(rest, (len(t), 1))
    for phone, row in zip(phones, rows, strict=True):
        a, b = np.searchsorted(t, [phone.start, phone.end])
        raw[a:b] = row
    sigma = blend / _STEP
    radius = int(3 * sigma)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    smooth = np.stack(
        [np.convolve(np.pad(raw[:, k], radius, mode="edge"), kernel, "valid")
         for k in range(raw.shape[1])], 1
    )  # fmt: skip
    at = np.clip(np.searchsorted(t, (np.arange(frames) + 0.5) / fps), 0, len(t) - 1)
    return smooth[at]


def _voiced_jaw(
    phones: list[Phone],
    mouth: np.ndarray,
    level: np.ndarray,
    fps: int,
    silent: Sequence[tuple[float, float]],
) -> np.ndarray:
    """The jaw from the audio's level and each phone's `JAW` allowance; spans in `silent` (a
    mouthed line has phones but no sound) keep the phones' own opening (`mouth`)."""
    allow = np.array([[JAW.get(_base(p.phone), _JAW_DEFAULT)] for p in phones]).reshape(-1, 1)
    jaw = OPEN * level * _blended(phones, allow, np.zeros(1), len(mouth), fps)[:, 0]
    middles = (np.arange(len(mouth)) + 0.5) / fps
    for start, end in silent:
        inside = (middles >= start) & (middles < end)
        jaw[inside] = mouth[inside]
    return jaw


def viseme_curves(
    phones: list[Phone],
    frames: int,
    fps: int,
    silent_gain: float = 1.0,
    audio: Audio | None = None,
    silent: Sequence[tuple[float, float]] = (),
) -> dict[str, np.ndarray]:
    """Per-frame curves of `mouth` and the `SHAPES` for timed phones; with `audio`, the jaw
    follows its loudness instead of the phones' fixed heights (`OPEN`, `JAW`)."""
    # Before the first phone and after the last the lips rest together, as between phrases.
    rows = np.array([_target(p.phone) for p in phones], float).reshape(-1, 6)
    rest = np.array(TARGETS["pau"], float)
    values = _blended(phones, rows, rest, frames, fps)
    values[:, 3] = _blended(phones, rows[:, 3:4], rest[3:4], frames, fps, PRESS_BLEND)[:, 0]
    curves = {"mouth": values[:, 0] * silent_gain}
    for k, name in enumerate(SHAPES, 1):
        curves[name] = values[:, k]
    if audio is not None:
        level = loudness(audio, frames, fps)
        curves["mouth"] = _voiced_jaw(phones, curves["mouth"], level, fps, silent)
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
