"""One video's quality report: identity, subject motion, background stillness, prompt adherence.

Example::

    report = evaluate(read_frames(path), reference_rgb, prompt="She nods and smiles")
    report.to_dict()["motions"]  # [{"kind": "nod", "found": True, ...}, ...]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from subject2video.media.faces import FaceAnalyzer, get_analyzer
from subject2video.prompts import read_prompt
from subject2video.quality.motion import Check, Signals, blink_count, check
from subject2video.quality.track import track

#: dlib's descriptor: two photos of one person lie within this distance.
SAME_PERSON = 0.6


@dataclass
class Report:
    """The measurements of one video; see `to_dict()` for the JSON form."""

    frames: int
    frames_tracked: int
    identity_mean: float | None
    identity_max: float | None
    identity_frames: int
    #: Landmark motion against the first frame, in face widths: mean and largest over frames.
    motion_mean: float
    motion_max: float
    #: Background residual after undoing the camera, in grey levels (0-255): mean and largest.
    background_mean: float | None
    background_max: float | None
    #: The largest camera zoom change (ratio - 1) and shift (px) the background shows.
    camera_zoom: float
    camera_shift: float
    blinks: int
    motions: list[Check] = field(default_factory=list)

    @property
    def found_share(self) -> float | None:
        """Share of the prompt's named motions found in the named direction."""
        if not self.motions:
            return None
        return sum(c.found for c in self.motions) / len(self.motions)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["found_share"] = self.found_share
        return data


def evaluate(
    frames: Iterable[np.ndarray],
    reference: np.ndarray,
    *,
    prompt: str = "",
    fps: float = 25.0,
    identity_step: int = 1,
    analyzer: FaceAnalyzer | None = None,
) -> Report:
    """Measure a video (its RGB frames) against the reference photo and the prompt."""
    analyzer = analyzer or get_analyzer()
    reference_face = analyzer.subject(reference, parameter="reference")
    assert reference_face.landmarks is not None
    descriptor = analyzer.descriptor(reference, reference_face.landmarks)
    tr = track(frames, analyzer, fps=fps, reference=descriptor, identity_step=identity_step)
    signals = Signals(tr)
    distances = [d for _, d in tr.identity]
    kinds = [m.kind for m in read_prompt(prompt)] if prompt else []
    tracked = [p for p in tr.landmarks if p is not None]
    motion = [0.0]
    if tracked:
        first = tracked[0]
        width = max(float(np.linalg.norm(first[16] - first[0])), 1.0)
        motion = [float(np.linalg.norm(p - first, axis=1).mean()) / width for p in tracked]
    residuals = [r for *_, r in tr.background[1:]]
    zoom = max((abs(z - 1) for _, z, _, _, _ in tr.background), default=0.0)
    shift = max((float(np.hypot(x, y)) for _, _, x, y, _ in tr.background), default=0.0)
    return Report(
        frames=len(tr.landmarks),
        frames_tracked=len(tracked),
        identity_mean=float(np.mean(distances)) if distances else None,
        identity_max=float(np.max(distances)) if distances else None,
        identity_frames=len(distances),
        motion_mean=float(np.mean(motion)),
        motion_max=float(np.max(motion)),
        background_mean=float(np.mean(residuals)) if residuals else None,
        background_max=float(np.max(residuals)) if residuals else None,
        camera_zoom=float(zoom),
        camera_shift=float(shift),
        blinks=blink_count(signals),
        motions=check(signals, kinds),
    )


def format_report(report: Report) -> str:
    """The report as a few lines for a terminal."""

    def num(value: float | None, digits: int = 3) -> str:
        return "n/a" if value is None else f"{value:.{digits}f}"

    lines = [
        f"frames: {report.frames} ({report.frames_tracked} with the face tracked)",
        f"identity: mean {num(report.identity_mean)}, max {num(report.identity_max)} "
        f"over {report.identity_frames} frames (same person under {SAME_PERSON})",
        f"subject motion: mean {report.motion_mean:.3f}, max {report.motion_max:.3f} face widths",
        f"background: residual mean {num(report.background_mean, 2)}, max "
        f"{num(report.background_max, 2)} grey levels; camera zoom {report.camera_zoom:.3f}, "
        f"shift {report.camera_shift:.1f} px",
        f"blinks: {report.blinks}",
    ]
    for c in report.motions:
        mark = "found" if c.found else "NOT found"
        lines.append(f"  {c.kind:<12} {mark:<10} value {c.value:+.3f}  ({c.expected})")
    if report.found_share is not None:
        lines.append(f"named motions found: {100 * report.found_share:.0f}%")
    return "\n".join(lines)
