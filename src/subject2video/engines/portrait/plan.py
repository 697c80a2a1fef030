"""The motion plan: a prompt and a seed become curves over the frames, one per channel.

Channels are in the subject's own units: head angles in degrees (signs as `head_pose` reads them:
yaw towards screen right, pitch up, roll clockwise), body offsets in face widths and heights,
expressions from 0 (rest) to about 1, and a camera zoom and pan. Every plan carries idle life
(blinks every few seconds, breathing, a little head motion) unless the prompt forbids it, and the
same prompt, seed and length always give the same plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from subject2video.engines.portrait import directives, visemes
from subject2video.media.voice import Speech
from subject2video.prompts import Motion, read_prompt, without_lines

#: Degrees of a plain head turn, look, tilt; amplitudes scale with intensity words.
TURN_DEG, LOOK_DEG, TILT_DEG, NOD_DEG, SHAKE_DEG = 18.0, 12.0, 10.0, 8.0, 12.0
#: Idle blinks keep at least this far (seconds) from any frame of a wink, so that the other eye
#: stays open through the whole wink.
WINK_CLEARANCE = 1.0
#: Camera zoom at the end of a push-in (or the start of a pull-out).
PUSH_ZOOM = 1.22
CHANNELS = (
    "yaw", "pitch", "roll", "sway", "rise", "breath", "blink_l", "blink_r",
    "smile", "mouth", "brows", "wide", "zoom", "pan", "lift", "gaze_x", "gaze_y",
    "round", "spread", "press", "bite", "tongue", "settle",
)  # fmt: skip


def ease(x: np.ndarray) -> np.ndarray:
    """Cosine ease from 0 to 1 over x in [0, 1], flat outside."""
    return (1.0 - np.cos(np.pi * np.clip(x, 0.0, 1.0))) / 2.0


@dataclass
class MotionPlan:
    """Per-frame curves for every channel, the motions read from the prompt, and a log."""

    frames: int
    fps: int
    motions: list[Motion]
    curves: dict[str, np.ndarray]
    notes: list[str] = field(default_factory=list)

    @property
    def camera_moves(self) -> bool:
        """Whether any frame has a zoom or pan."""
        zoomed = np.any(np.abs(self.curves["zoom"] - 1) > 1e-4)
        return bool(zoomed or np.any(self.curves["pan"]) or np.any(self.curves["lift"]))

    def at(self, index: int) -> dict[str, float]:
        """Every channel's value at frame `index`."""
        return {name: float(curve[index]) for name, curve in self.curves.items()}

    def describe(self) -> str:
        """The plan in a few lines, for the task's debugoutput."""
        read = ", ".join(_label(m) for m in self.motions) or "no motion words"
        return "motion plan: read " + read + "\n" + "\n".join("  " + n for n in self.notes)


def _label(motion: Motion) -> str:
    extra = []
    if motion.slowness != 1:
        extra.append("slower" if motion.slowness > 1 else "quicker")
    if motion.intensity != 1:
        extra.append("gentler" if motion.intensity < 1 else "stronger")
    return motion.kind + (f" ({', '.join(extra)})" if extra else "")


class _Builder:
    """Writes motions into channel curves over time `t` (seconds)."""

    def __init__(self, frames: int, fps: int, rng: np.random.Generator) -> None:
        self.t = np.arange(frames) / fps
        self.duration = frames / fps
        self.rng = rng
        self.c = {name: np.zeros(frames) for name in CHANNELS}
        self.c["zoom"][:] = 1.0
        self.notes: list[str] = []

    def ramp(self, name: str, target: float, start: float, seconds: float) -> None:
        """Ease channel `name` from its value at `start` to `target` over `seconds`, then hold."""
        curve = self.c[name]
        index = min(len(curve) - 1, int(start * len(curve) / self.duration))
        base = curve[index]
        e = ease((self.t - start) / max(seconds, 1e-3))
        mask = self.t >= start
        curve[mask] = base + (target - base) * e[mask]
        self.notes.append(
            f"{name}: {base:+.2f} -> {target:+.2f} at {start:.1f}-{start + seconds:.1f} s"
        )

    def pulse(self, name: str, at: float, close: float, hold: float, opened: float) -> None:
        """A closure pulse (blinks, winks): 0 -> 1 over `close`, hold, back to 0 over `opened`."""
        x = self.t - at
        up = np.clip(x / close, 0, 1)
        down = 1 - np.clip((x - close - hold) / opened, 0, 1)
        value = ease(np.minimum(up, down)) * ((x >= 0) & (x <= close + hold + opened))
        self.c[name] = np.maximum(self.c[name], value)

    def blink(self, at: float, slowness: float = 1.0, eyes: str = "both") -> None:
        for name in ("blink_l", "blink_r") if eyes == "both" else (f"blink_{eyes}",):
            self.pulse(name, at, 0.07 * slowness, 0.05 * slowness, 0.15 * slowness)

    def wave(self, name: str, amplitude: float, period: float, start: float, end: float) -> None:
        """Add a sine of `period` seconds between `start` and `end`, faded in and out."""
        fade = min(0.4, (end - start) / 4)
        env = ease((self.t - start) / fade) * ease((end - self.t) / fade)
        self.c[name] += amplitude * np.sin(2 * np.pi * (self.t - start) / period) * env


def _windows(motions: list[Motion], duration: float) -> dict[str, tuple[float, float]]:
    """A time window per motion: the prompt's stages ("he looks down, then turns") follow each
    other, an equal share of the video each; within a stage, motions on one channel take
    turns, others run together."""
    stages = sorted({m.stage for m in motions})
    windows = {}
    for n, stage in enumerate(stages):
        lo, span = duration * n / len(stages), duration / len(stages)
        groups: dict[str, list[Motion]] = {}
        for motion in motions:
            if motion.stage == stage:
                groups.setdefault(_channel_of(motion.kind), []).append(motion)
        for group in groups.values():
            for i, motion in enumerate(group):
                windows[motion.kind] = (
                    lo + span * i / len(group), lo + span * (i + 1) / len(group),
                )  # fmt: skip
    return windows


def _alongside(kind: str, windows: dict[str, tuple[float, float]]) -> set[str]:
    """The other motions whose windows overlap `kind`'s: those it runs together with."""
    start, end = windows[kind]
    return {k for k, (a, b) in windows.items() if k != kind and a < end and start < b}


def _channel_of(kind: str) -> str:
    for prefix, channel in (
        ("turn", "yaw"),
        ("shake", "yaw"),
        ("look", "pitch"),
        ("nod", "pitch"),
        ("tilt", "roll"),
        ("push", "camera"),
        ("pull", "camera"),
        ("pan", "camera"),
        ("smile", "smile"),
        ("frown", "smile"),
        ("laugh", "mouth"),
        ("talk", "mouth"),
    ):
        if kind.startswith(prefix):
            return channel
    return kind


def plan_motion(
    prompt: str, seed: int, frames: int = 150, fps: int = 25, speech: Speech | None = None
) -> MotionPlan:
    """The plan for `prompt`: named motions in their windows, plus idle life; with `speech`, the
    lips follow its phones (or its loudness) and the prompt's quoted lines direct nothing."""
    rng = np.random.default_rng(seed % 2**32)
    motions = read_prompt(without_lines(prompt) if speech is not None else prompt)
    if speech is not None:
        motions = [m for m in motions if m.kind not in ("talk", "quiet")]
    b = _Builder(frames, fps, rng)
    kinds = {m.kind for m in motions}
    worded = [m for m in motions if m.step is None]
    windows = {**_windows(worded, b.duration), **directives.windows(motions, b.duration)}
    stages = sorted({m.stage for m in worded})
    if len(stages) > 1:
        b.notes.append(
            "in sequence: "
            + "; then ".join(", ".join(m.kind for m in worded if m.stage == n) for n in stages)
        )
    # A tracking shot follows the subject's motion: it goes after the motions it follows.
    for motion in sorted(motions, key=lambda m: m.kind == "tracking"):
        _apply(b, motion, windows[motion.kind], kinds, _alongside(motion.kind, windows))
    _idle(b, kinds)
    _gaze(b, kinds)
    if speech is not None:
        _speak(b, speech)
    return MotionPlan(frames, fps, motions, b.c, b.notes)


def _apply(
    b: _Builder, m: Motion, window: tuple[float, float], kinds: set[str], alongside: set[str]
) -> None:
    """Write one named motion into the builder's curves (`kinds`: every motion the prompt
    names; `alongside`: those it runs together with)."""
    if directives.apply(b, m, window):
        return
    start, end = window
    k, s, a = m.kind, m.slowness, m.intensity
    onset = start + 0.3
    move = min(1.4 * s, max(0.4, end - onset - 0.2))
    if k.startswith(("turn", "look")) and any(o.startswith("look" if k[0] == "t" else "turn")
                                              for o in alongside):  # fmt: skip
        # Turning and looking up or down at once: a diagonal move, about as far in all as
        # either alone, not the two added up.
        a *= 0.8
    side = -1.0 if k.endswith("_left") or k.endswith("_down") else 1.0
    if k in ("turn", "tilt", "wink", "pan"):
        side = float(b.rng.choice([-1.0, 1.0]))
    if k.startswith("turn"):
        b.ramp("yaw", side * TURN_DEG * a, onset, move)
    elif k.startswith("look"):
        b.ramp("pitch", side * LOOK_DEG * a, onset, move)
    elif k.startswith("tilt"):
        b.ramp("roll", side * TILT_DEG * a, onset, move)
    elif k == "nod":
        # Down and back up, three times: pitch dips below zero and returns.
        b.wave("pitch", -NOD_DEG * a, 0.9 * s, onset, min(end, onset + 2.9 * s))
    elif k == "shake":
        b.wave("yaw", SHAKE_DEG * a, 0.9 * s, onset, min(end, onset + 2.9 * s))
    elif k == "blink":
        for i in range(3):
            b.blink(onset + 0.2 + i * 0.9 * s, s)
        b.notes.append(f"blinks at {onset + 0.2:.1f} s and then every {0.9 * s:.1f} s")
    elif k.startswith("wink"):
        eye = "l" if side < 0 else "r"
        b.pulse(f"blink_{eye}", onset + 0.3, 0.12 * s, 0.5 * s, 0.2 * s)
        b.notes.append(f"wink of the screen-{'left' if eye == 'l' else 'right'} eye")
    elif k in ("smile", "frown"):
        b.ramp("smile", (1.0 if k == "smile" else -1.0) * min(1.4, a), onset, 0.8 * s)
    elif k == "laugh":
        b.ramp("smile", min(1.2, 0.9 * a), onset, 0.4 * s)
        _laugh(b, onset, end, s, a)
    elif k == "talk":
        _talk(b, onset, end, s, a)
    elif k == "surprise":
        # Moderate on purpose: raised brows change dlib's identity descriptor more than any
        # other expression (0.36 at full height on the astronaut, 0.22 at half).
        b.ramp("brows", 0.55 * min(1.4, a), onset, 0.3 * s)
        b.ramp("wide", 0.8 * min(1.4, a), onset, 0.3 * s)
        if "talk" not in alongside and "laugh" not in alongside:
            b.ramp("mouth", 0.15 * a, onset, 0.3 * s)
    elif k == "sway":
        period = 3.0 * s
        b.wave("sway", 0.09 * a, period, 0.0, b.duration)
        b.wave("roll", 2.0 * a, period, 0.0, b.duration)
    elif k == "walk":
        _walk(b, s, a, camera=not (kinds & {"static", "push_in", "pull_out", "pan_left"}))
    elif k == "push_in" or k == "pull_out":
        zoom = 1 + (PUSH_ZOOM - 1) * min(a, 1.5)
        seconds = min(end - start - 0.4, 3.6 * s)
        if k == "pull_out":
            b.c["zoom"][:] = zoom
        b.ramp("zoom", zoom if k == "push_in" else 1.0, start + 0.2, seconds)
    elif k.startswith("pan"):
        b.c["zoom"][:] = np.maximum(b.c["zoom"], 1.14)
        reach = min(0.055, 0.04 * a)
        # Panning left moves the view left: its centre goes from right of centre to left.
        b.c["pan"][:] = -side * reach
        b.ramp("pan", side * reach, start + 0.2, min(end - start - 0.4, 4.0 * s))


def _laugh(b: _Builder, start: float, end: float, s: float, a: float) -> None:
    """Bursts of open-mouthed laughter with a small head bob."""
    period = 0.24 * s
    fade = ease((b.t - start) / 0.3) * ease((end - 0.2 - b.t) / 0.3)
    beat = np.abs(np.sin(np.pi * (b.t - start) / period))
    b.c["mouth"] += fade * (0.12 + 0.28 * beat) * min(a, 1.3)
    b.c["pitch"] += fade * 1.5 * a * np.sin(2 * np.pi * (b.t - start) / period)
    b.notes.append(f"laughter {start:.1f}-{end:.1f} s, a beat every {period:.2f} s")


def _talk(b: _Builder, start: float, end: float, s: float, a: float) -> None:
    """Syllables: mouth openings of random length and height, with short pauses."""
    t, count = start, 0
    while t < end - 0.25:
        length = float(b.rng.uniform(0.16, 0.3)) * s
        height = float(b.rng.uniform(0.35, 0.8)) * min(a, 1.3)
        x = (b.t - t) / length
        b.c["mouth"] += height * np.sin(np.pi * np.clip(x, 0, 1)) ** 2
        t += length
        count += 1
        if b.rng.random() < 0.15:
            t += float(b.rng.uniform(0.2, 0.4))
    b.c["brows"] += 0.15 * np.sin(2 * np.pi * b.t / 1.7) * (b.t > start)
    b.notes.append(f"talking {start:.1f}-{end:.1f} s, {count} syllables")


def _walk(b: _Builder, s: float, a: float, *, camera: bool) -> None:
    """A bob at each step, a slight side-to-side sway, and a slow camera move forward."""
    step = 0.55 * s
    phase = np.pi * b.t / step
    b.c["rise"] += 0.03 * a * (np.abs(np.sin(phase)) - 0.64)
    b.c["sway"] += 0.02 * a * np.sin(phase)
    b.c["roll"] += 1.0 * a * np.sin(phase)
    b.notes.append(f"walking: a step every {step:.2f} s")
    if camera:
        b.c["zoom"] = np.maximum(b.c["zoom"], 1 + 0.1 * a * b.t / b.duration)
        b.notes.append(f"camera: walking forward, zoom 1.00 -> {1 + 0.1 * a:.2f}")


def _idle(b: _Builder, kinds: set[str]) -> None:
    """Blinks, breathing and a little head motion: life that every prompt gets."""
    rng = b.rng
    if "no_blink" not in kinds:
        winks = [
            i / len(b.t) * b.duration for i in np.flatnonzero(b.c["blink_l"] != b.c["blink_r"])
        ]
        at, times = float(rng.uniform(0.5, 1.4)), []
        while at < b.duration - 0.4:
            if all(abs(at - w) > WINK_CLEARANCE for w in winks):
                b.blink(at)
                times.append(at)
            at += float(rng.uniform(2.2, 3.6))
        b.notes.append("idle blinks at " + ", ".join(f"{x:.1f}" for x in times) + " s")
    depth = 0.0 if "hold_breath" in kinds else 1.0
    if "breathe" in kinds:
        depth = 2.0
    period = float(rng.uniform(3.4, 4.4))
    b.c["breath"] += depth * np.sin(2 * np.pi * b.t / period + rng.uniform(0, 2 * np.pi))
    b.notes.append(f"breathing: depth {depth:.1f}, a breath every {period:.1f} s")
    calm = 0.15 if "still" in kinds else 1.0
    for name, amplitude in (("yaw", 1.8), ("pitch", 1.0), ("roll", 0.8)):
        p1, p2 = rng.uniform(0, 2 * np.pi, 2)
        f1, f2 = rng.uniform(4.5, 7.0), rng.uniform(2.5, 3.8)
        wave = 0.65 * np.sin(2 * np.pi * b.t / f1 + p1) + 0.35 * np.sin(2 * np.pi * b.t / f2 + p2)
        b.c[name] += calm * amplitude * (wave - wave[0])
    b.notes.append(f"idle head motion x{calm:.2f}")


def _gaze(b: _Builder, kinds: set[str]) -> None:
    """The eyes lead the head (they reach a turn's direction first, then the head catches up),
    and between moves they rest on one point, then another, a few times a video."""
    lead = max(1, round(0.3 * len(b.t) / max(b.duration, 1e-6)))

    def ahead(curve: np.ndarray) -> np.ndarray:
        shift = min(lead, len(curve))
        return np.concatenate([curve[shift:], np.repeat(curve[-1:], shift)]) - curve

    b.c["gaze_x"] += np.clip(ahead(b.c["yaw"]) / 12.0, -0.6, 0.6)
    b.c["gaze_y"] -= np.clip(ahead(b.c["pitch"]) / 10.0, -0.6, 0.6)
    if "still" in kinds or "no_blink" in kinds:
        return
    at, spots = float(b.rng.uniform(1.0, 2.0)), 0
    while at < b.duration - 0.5:
        x, y = b.rng.uniform(-0.25, 0.25), b.rng.uniform(-0.15, 0.15)
        glance = ease((b.t - at) / 0.08) * (1 - ease((b.t - at - 1.2) / 0.08))
        b.c["gaze_x"] += x * glance
        b.c["gaze_y"] += y * glance
        spots += 1
        at += float(b.rng.uniform(2.0, 3.5))
    b.notes.append(f"gaze: leads the head's moves; {spots} glances")


def _speak(b: _Builder, speech: Speech) -> None:
    """The lips from the speech's phones (or, without phones, its loudness); brows and a small
    nod on stressed syllables, a blink at phrase pauses."""
    frames, fps = len(b.t), round(len(b.t) / b.duration)
    if speech.phones:
        curves = visemes.viseme_curves(
            speech.phones, frames, fps, audio=speech.audio, silent=speech.silent
        )
        b.notes.append(
            f"speech: {len(speech.phones)} phones from {speech.source}, "
            f"{sum(p.phone in ('m', 'b', 'p') for p in speech.phones)} lip closures"
        )
    else:
        curves = visemes.energy_curves(speech.audio, frames, fps)
        b.notes.append("speech: no phone model fits; the jaw follows the audio's energy")
    end = speech.phones[-1].end if speech.phones else speech.audio.seconds
    spoken = (b.t >= 0) & (b.t <= end + 0.1)
    b.c["mouth"] = np.where(spoken, curves["mouth"], np.minimum(b.c["mouth"], 0.1))
    # While it speaks, the photo's own parted lips close first (visemes.shape): eased in and out
    # over 0.2 s around the speech.
    near = np.clip(np.minimum(b.t + 0.2, end + 0.3 - b.t) / 0.2, 0.0, 1.0)
    b.c["settle"] = np.maximum(b.c["settle"], near)
    for name in visemes.SHAPES:
        b.c[name] = curves[name]
    stressed, pauses = visemes.accents(speech.phones, frames, fps)
    for at in stressed:
        bump = np.exp(-0.5 * ((b.t - at - 0.05) / 0.09) ** 2)
        b.c["brows"] += 0.18 * bump
        b.c["pitch"] -= 1.2 * bump
    for at in pauses:
        if np.all(b.c["blink_l"][(b.t > at - 0.3) & (b.t < at + 0.5)] < 0.1):
            b.blink(at + 0.05)
    b.notes.append(f"speech: {len(stressed)} stressed syllables, {len(pauses)} pauses")
