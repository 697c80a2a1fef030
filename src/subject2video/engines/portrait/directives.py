"""Bracketed camera instructions (`[Pan left]`, `[Pedestal up]`, … prompts.DIRECTIVES) in a plan.

Each bracket gets its own time window, in the prompt's order; instructions in one bracket share it.
The portrait camera is a 2D view over the rendered frame (zoom, `pan` across in frame widths,
`lift` up and down in frame heights), so a truck and a pan both move the view sideways (a truck
further and without easing out), a pedestal and a tilt both move it up or down, and a zoom is a
push without the slight forward drift; the plan's notes say so for each.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from subject2video.prompts import Motion

#: Kinds handled here (push_in, pull_out, pan_* and static are also read from words: plan.py).
KINDS = frozenset(
    {
        "truck_left", "truck_right", "pedestal_up", "pedestal_down", "cam_tilt_up",
        "cam_tilt_down", "zoom_in", "zoom_out", "cam_shake", "tracking",
    }
)  # fmt: skip
#: How far a move takes the view, in frame widths (sideways) or heights (up and down).
PAN_REACH, TRUCK_REACH, LIFT_REACH = 0.05, 0.07, 0.05
#: The zoom that gives a moving view room to move without showing the frame's edge.
ROOM_ZOOM = 1.16
ZOOM_IN = 1.25


class Builder(Protocol):
    """What plan._Builder offers: time, duration, curves, notes, ramp, wave, rng."""

    t: np.ndarray
    duration: float
    c: dict[str, np.ndarray]
    notes: list[str]
    rng: np.random.Generator

    def ramp(self, name: str, target: float, start: float, seconds: float) -> None: ...


def windows(motions: list[Motion], duration: float) -> dict[str, tuple[float, float]]:
    """A window per bracketed motion: brackets take turns over the video, in order."""
    steps = sorted({m.step for m in motions if m.step is not None})
    out = {}
    for motion in motions:
        if motion.step is not None:
            i = steps.index(motion.step)
            out[motion.kind] = (duration * i / len(steps), duration * (i + 1) / len(steps))
    return out


def apply(b: Builder, m: Motion, window: tuple[float, float]) -> bool:
    """Write one camera instruction into the curves; False if `m` is not one of KINDS."""
    if m.kind not in KINDS:
        return False
    start, end = window
    seconds = max(0.4, min(end - start - 0.4, 4.0 * m.slowness))
    k = m.kind
    if k.startswith("truck"):
        side = -1.0 if k.endswith("left") else 1.0
        _room(b)
        b.c["pan"][b.t < start] = b.c["pan"][_index(b, start)]
        b.ramp("pan", b.c["pan"][_index(b, start)] + side * TRUCK_REACH, start + 0.1, seconds)
        b.notes.append(f"{k}: the view moves {'left' if side < 0 else 'right'} (2D truck)")
    elif k.startswith(("pedestal", "cam_tilt")):
        up = k.endswith("up")
        _room(b)
        here = b.c["lift"][_index(b, start)]
        b.ramp("lift", here + (-LIFT_REACH if up else LIFT_REACH), start + 0.1, seconds)
        how = "pedestal" if k.startswith("pedestal") else "tilt"
        b.notes.append(f"{k}: the view moves {'up' if up else 'down'} (2D {how})")
    elif k in ("zoom_in", "zoom_out"):
        here = float(b.c["zoom"][_index(b, start)])
        target = max(here, 1.0) * ZOOM_IN if k == "zoom_in" else max(1.0, here / ZOOM_IN)
        if k == "zoom_out" and here <= 1.0 + 1e-6:
            b.c["zoom"][b.t < start + 0.1] = ZOOM_IN  # start close, end wide
            target = 1.0
        b.ramp("zoom", target, start + 0.1, seconds)
    elif k == "cam_shake":
        _room(b, 1.06)
        for name, amp in (("pan", 0.006), ("lift", 0.005)):
            b.c[name] += amp * _shake(b, start, end)
        b.notes.append(f"camera shake {start:.1f}-{end:.1f} s (handheld jitter)")
    elif k == "tracking":
        _room(b, 1.1)
        # The view follows the subject: it drifts with the body's sway and rise, and creeps in.
        follow = (b.t >= start) & (b.t <= end)
        b.c["pan"][follow] += 0.4 * b.c["sway"][follow] / 3
        b.c["zoom"][follow] *= 1 + 0.06 * (b.t[follow] - start) / max(end - start, 1e-3)
        b.notes.append(f"tracking shot {start:.1f}-{end:.1f} s: the view follows the subject")
    return True


def _room(b: Builder, zoom: float = ROOM_ZOOM) -> None:
    b.c["zoom"][:] = np.maximum(b.c["zoom"], zoom)


def _index(b: Builder, at: float) -> int:
    return int(min(len(b.t) - 1, max(0, round(at * len(b.t) / b.duration))))


def _shake(b: Builder, start: float, end: float) -> np.ndarray:
    """Smooth random jitter of unit size between `start` and `end` (several Hz)."""
    knots = np.arange(start, end + 0.1, 0.12)
    values = b.rng.uniform(-1.0, 1.0, len(knots))
    jitter = np.interp(b.t, knots, values) if len(knots) > 1 else np.zeros_like(b.t)
    inside = ((b.t >= start) & (b.t <= end)).astype(float)
    return jitter * inside
