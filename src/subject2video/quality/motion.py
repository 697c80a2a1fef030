"""Motion signals from tracked landmarks, and one check per motion word.

Every check reads only the video's landmarks (and the background's motion), never an engine's
plan. The table, with the measurement and what counts as found (baseline: the first 3 frames;
"swings": alternating peaks and troughs at least the given height apart):

| kind | measurement | found when |
|---|---|---|
| turn_left / turn_right | head yaw (solvePnP) | falls / rises by 6° |
| look_up / look_down | head pitch | rises / falls by 5° |
| tilt_left / tilt_right | head roll | falls / rises by 5° (left: top of the head to screen left) |
| nod / shake | pitch / yaw | 3 swings of 4° / 5° |
| blink / no_blink | eye aspect ratio, both eyes | dips under 75% of the median / never |
| wink_left / _right | EAR, screen-left / -right eye | < 75% and < 80% of the other; other ≥ 85% |
| smile / frown | mouth width, 0.5 s / corners below lip centre | +6% / drop 3%, never 6% wider |
| laugh | mouth width and inner-lip opening | width +4% and 4 swings of 0.05 |
| talk / quiet | inner-lip opening / mouth width | 4 swings of 0.05 / at most 1 |
| surprise | brow height over the eyes, EAR | brows +6% and eyes +8% |
| breathe / hold_breath | face y, smoothed over 0.5 s | 2 swings of 3% of face height / none |
| sway | face x, smoothed | 2 swings of 8% of face width |
| walk | face y, high-passed; face scale | 6 swings of 1.5% face height; scale +3% unless static |
| push_in / pull_out | face scale (eye distance) | last/first at least 1.06 / at most 0.94 |
| pan_left / pan_right | face x on screen | moves right / left by 2% of frame width |
| static | background camera motion | zoom within 1%, shift within 0.5% of width |
| still | head angles, smoothed over 0.5 s | yaw and pitch spread under 3° |

"turn", "tilt", "wink" and "pan" without a direction are found either way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from subject2video.media.faces import eye_aspect_ratio, head_pose
from subject2video.quality.track import Track


@dataclass(frozen=True)
class Check:
    """Whether a motion named in the prompt happened, with the measured value."""

    kind: str
    found: bool
    value: float
    expected: str


class Signals:
    """Per-frame measurements of the tracked face (NaN where it was lost, then filled)."""

    def __init__(self, tr: Track) -> None:
        n = len(tr.landmarks)
        names = (
            "yaw",
            "pitch",
            "roll",
            "ear_l",
            "ear_r",
            "width",
            "opening",
            "corners",
            "brows",
            "scale",
            "x",
            "y",
            "face_h",
        )
        data = {k: np.full(n, np.nan) for k in names}
        for i, p in enumerate(tr.landmarks):
            if p is None:
                continue
            p = np.asarray(p, np.float64)
            data["yaw"][i], data["pitch"][i], data["roll"][i] = head_pose(p, tr.size)
            data["ear_r"][i], data["ear_l"][i] = eye_aspect_ratio(p)
            io = float(np.linalg.norm(p[42:48].mean(0) - p[36:42].mean(0)))
            mw = float(np.linalg.norm(p[54] - p[48]))
            data["scale"][i] = io
            data["width"][i] = mw / io
            data["opening"][i] = float(np.mean(p[[65, 66, 67], 1] - p[[63, 62, 61], 1])) / mw
            centre_y = (p[51, 1] + p[57, 1]) / 2
            data["corners"][i] = ((p[48, 1] + p[54, 1]) / 2 - centre_y) / mw
            data["brows"][i] = float(p[36:48, 1].mean() - p[17:27, 1].mean()) / io
            data["x"][i] = float(p[27:36, 0].mean()) / tr.size[0]
            data["y"][i] = float(p[27:36, 1].mean())
            data["face_h"][i] = float(p[8, 1] - p[17:27, 1].mean())
        for key, values in data.items():
            data[key] = _fill(values)
        self.fps = tr.fps
        self.width_px = tr.size[0]
        self.data = data
        self.background = tr.background

    def __getitem__(self, key: str) -> np.ndarray:
        return self.data[key]

    def delta(self, key: str) -> np.ndarray:
        """The signal, smoothed over 3 frames (landmark jitter), minus its first 3 frames'."""
        values = self.smooth(key, 3 / self.fps)
        return values - np.median(self.data[key][:3])

    def smooth(self, key: str, seconds: float) -> np.ndarray:
        width = max(1, round(seconds * self.fps))
        kernel = np.ones(width) / width
        values = self.data[key]
        padded = np.pad(values, (width // 2, width - 1 - width // 2), mode="edge")
        return np.convolve(padded, kernel, mode="valid")


def _fill(values: np.ndarray) -> np.ndarray:
    ok = np.isfinite(values)
    if not ok.any():
        return np.zeros_like(values)
    index = np.arange(len(values))
    return np.interp(index, index[ok], values[ok])


def swings(values: np.ndarray, height: float) -> int:
    """How many times the signal turns after rising or falling by at least `height`."""
    count, direction = 0, 0
    low = high = values[0] if len(values) else 0.0
    for v in values:
        high, low = max(high, v), min(low, v)
        if direction >= 0 and high - v >= height:
            count, direction, low, high = count + 1, -1, v, v
        elif direction <= 0 and v - low >= height:
            count, direction, low, high = count + 1, 1, v, v
    return count


#: In a wink the other eye stays at least this open (its aspect ratio over its median).
WINK_OTHER_OPEN = 0.85


def _dips(ratio: np.ndarray, below: float) -> list[tuple[int, int]]:
    """Runs of frames where `ratio` is under `below`, as (start, end) pairs."""
    runs, start = [], None
    for i, low in enumerate(ratio < below):
        if low and start is None:
            start = i
        elif not low and start is not None:
            runs.append((start, i))
            start = None
    if start is not None:
        runs.append((start, len(ratio)))
    return runs


def _eyes(s: Signals) -> tuple[np.ndarray, np.ndarray]:
    left, right = s["ear_l"], s["ear_r"]
    return left / max(np.median(left), 1e-6), right / max(np.median(right), 1e-6)


def blink_count(s: Signals) -> int:
    """Blinks: both eyes' aspect ratios dip under 75% of their medians together."""
    left, right = _eyes(s)
    return len(_dips(np.maximum(left, right), 0.75))


def _wink(s: Signals, side: str) -> int:
    """Winks of one eye: it dips under 75% of its median while the other eye stays clearly open
    (at least 85% of its own) and the dipping eye is under 80% of the other. At the bottom of a
    blink both eyes read small and one may read a little smaller: that is no wink."""
    left, right = _eyes(s)
    eye, other = (left, right) if side == "l" else (right, left)
    alone = (eye < 0.8 * other) & (other >= WINK_OTHER_OPEN)
    return sum(1 for a, b in _dips(eye, 0.75) if np.any(alone[a:b]))


def _camera(s: Signals) -> tuple[float, float]:
    if not s.background:
        return 0.0, 0.0
    zoom = max(abs(z - 1) for _, z, _, _, _ in s.background)
    shift = max(float(np.hypot(x, y)) for _, _, x, y, _ in s.background)
    return zoom, shift


def _scale_ratio(s: Signals) -> float:
    scale = s.smooth("scale", 0.3)
    return float(np.median(scale[-5:]) / max(np.median(scale[:5]), 1e-6))


def _walk(s: Signals, static: bool) -> tuple[bool, float]:
    y = s["y"] / np.maximum(s["face_h"], 1)
    bob = y - np.convolve(np.pad(y, 6, mode="edge"), np.ones(13) / 13, mode="valid")
    steps = swings(bob, 0.015)
    return steps >= 6 and (static or _scale_ratio(s) >= 1.03), float(steps)


def _frown(s: Signals) -> float:
    """The corners' largest drop, in a video where the mouth never widens by 6% (a smile's corners
    read as dropping when the head turns)."""
    widest = float(np.max(s.smooth("width", 0.5)) / np.median(s["width"][:3]))
    return float(s.delta("corners").max()) if widest < 1.06 else 0.0


def _breath(s: Signals) -> int:
    y = s.smooth("y", 0.5) / np.maximum(np.median(s["face_h"]), 1)
    return swings(y - np.linspace(y[0], y[-1], len(y)), 0.03)


def _either(a: Check, b: Check, kind: str) -> Check:
    best = a if a.found or abs(a.value) >= abs(b.value) else b
    return Check(kind, a.found or b.found, best.value, f"{a.expected} or {b.expected}")


Rule = Callable[[Signals, set[str]], Check]


def _rules() -> dict[str, Rule]:
    def lower(key: str, kind: str, limit: float, unit: str) -> Rule:
        return lambda s, _k: Check(
            kind,
            float(s.delta(key).min()) <= -limit,
            float(s.delta(key).min()),
            f"{key} falls by {limit}{unit}",
        )

    def higher(key: str, kind: str, limit: float, unit: str) -> Rule:
        return lambda s, _k: Check(
            kind,
            float(s.delta(key).max()) >= limit,
            float(s.delta(key).max()),
            f"{key} rises by {limit}{unit}",
        )

    def count(kind: str, fn: Callable[[Signals], float], least: float, text: str) -> Rule:
        return lambda s, _k: Check(kind, fn(s) >= least, float(fn(s)), text)

    def width(s: Signals) -> float:
        return float(np.max(s.smooth("width", 0.5)) / np.median(s["width"][:3]))

    def surprise(s: Signals, _k: set[str]) -> Check:
        brows = float(np.max(s.smooth("brows", 0.2)) / np.median(s["brows"][:3]))
        left, right = s.smooth("ear_l", 0.2), s.smooth("ear_r", 0.2)
        eyes = float(np.max((left + right) / 2) / np.median((s["ear_l"] + s["ear_r"])[:3] / 2))
        return Check("surprise", brows >= 1.06 and eyes >= 1.08, brows, "brows +6% and eyes +8%")

    rules: dict[str, Rule] = {
        "turn_left": lower("yaw", "turn_left", 6, "°"),
        "turn_right": higher("yaw", "turn_right", 6, "°"),
        "look_up": higher("pitch", "look_up", 5, "°"),
        "look_down": lower("pitch", "look_down", 5, "°"),
        "tilt_left": lower("roll", "tilt_left", 5, "°"),
        "tilt_right": higher("roll", "tilt_right", 5, "°"),
        "pan_left": higher("x", "pan_left", 0.02, " of the width (face moves right)"),
        "pan_right": lower("x", "pan_right", 0.02, " of the width (face moves left)"),
        "nod": count(
            "nod", lambda s: swings(s.smooth("pitch", 0.12), 4.0), 3, "3 pitch swings of 4°"
        ),
        "shake": count(
            "shake", lambda s: swings(s.smooth("yaw", 0.12), 5.0), 3, "3 yaw swings of 5°"
        ),
        "blink": count("blink", blink_count, 1, "an EAR dip under 75% in both eyes"),
        "no_blink": lambda s, _k: Check(
            "no_blink", blink_count(s) == 0, blink_count(s), "no EAR dip"
        ),
        "wink_left": count("wink_left", lambda s: _wink(s, "l"), 1, "screen-left eye shuts alone"),
        "wink_right": count(
            "wink_right", lambda s: _wink(s, "r"), 1, "screen-right eye shuts alone"
        ),
        "smile": count("smile", width, 1.06, "mouth width +6%"),
        "frown": count("frown", _frown, 0.03, "corners drop 3% of width, mouth no wider"),
        "talk": count("talk", lambda s: swings(s["opening"], 0.05), 4, "4 lip-opening swings"),
        "quiet": lambda s, _k: Check(
            "quiet",
            swings(s["opening"], 0.05) <= 1,
            swings(s["opening"], 0.05),
            "at most 1 lip swing",
        ),
        "laugh": lambda s, _k: Check(
            "laugh",
            width(s) >= 1.04 and swings(s["opening"], 0.05) >= 4,
            swings(s["opening"], 0.05),
            "width +4% and 4 lip swings",
        ),
        "surprise": surprise,
        "breathe": count("breathe", _breath, 2, "2 vertical swings of 3% of face height"),
        "hold_breath": lambda s, _k: Check("hold_breath", _breath(s) == 0, _breath(s), "none"),
        "sway": count("sway", lambda s: swings(s.smooth("x", 0.3) * _w(s), 0.08), 2, "2 swings"),
        "walk": lambda s, k: Check("walk", *_walk(s, "static" in k), "6 bobs and a move forward"),
        "push_in": count("push_in", _scale_ratio, 1.06, "face scale x1.06"),
        "pull_out": lambda s, _k: Check(
            "pull_out", _scale_ratio(s) <= 0.94, _scale_ratio(s), "face scale x0.94"
        ),
        "static": lambda s, _k: Check(
            "static",
            _camera(s)[0] < 0.01 and _camera(s)[1] < 0.005 * _W(s),
            _camera(s)[1],
            "no camera motion",
        ),
        "still": lambda s, _k: Check(
            "still",
            float(np.ptp(s.smooth("yaw", 0.5))) < 3 and float(np.ptp(s.smooth("pitch", 0.5))) < 3,
            float(np.ptp(s.smooth("pitch", 0.5))),
            "head angles within 3°",
        ),
    }
    for verb in ("turn", "tilt", "wink", "pan"):
        a, b = rules[f"{verb}_left"], rules[f"{verb}_right"]
        rules[verb] = lambda s, k, a=a, b=b, verb=verb: _either(a(s, k), b(s, k), verb)
    return rules


def _w(s: Signals) -> float:
    """Frame widths to face widths (a face is about 2.4 eye distances wide)."""
    return s.width_px / max(2.4 * float(np.median(s["scale"])), 1e-6)


def _W(s: Signals) -> float:
    return float(s.width_px)


RULES = _rules()


def check(signals: Signals, kinds: list[str]) -> list[Check]:
    """The check of every named kind that has a rule (modifier-only kinds have none)."""
    names = set(kinds)
    return [RULES[k](signals, names) for k in kinds if k in RULES]
