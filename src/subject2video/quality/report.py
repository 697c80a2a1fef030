"""One video's quality report: identity, subject motion, background stillness, prompt adherence.

Example::

    report = evaluate(read_frames(path), reference_rgb, prompt="She nods and smiles")
    report.to_dict()["motions"]  # [{"kind": "nod", "found": True, ...}, ...]
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from subject2video.media.audio import Audio
from subject2video.media.faces import FaceAnalyzer, get_analyzer
from subject2video.media.phones import align
from subject2video.prompts import read_lines, read_prompt
from subject2video.quality.measures import MouthMeter, blink_closure, pose_against, pose_reached
from subject2video.quality.motion import Check, Signals, blink_count, check
from subject2video.quality.sheet import contact_sheet, mouth_row, stack
from subject2video.quality.speech import intelligibility, score_video
from subject2video.quality.subject import (
    FaceShareMeter,
    HaloMeter,
    expected_boxes,
    face_box,
    nearest_face,
    service_subject,
)
from subject2video.quality.track import DETECT_EVERY, SPEECH_DETECT_EVERY, track

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
    #: Head yaw and pitch extremes reached, degrees from the first frames (`measures`).
    pose: dict[str, float] = field(default_factory=dict)
    #: The same extremes as asked by a plan, and reached over asked, when a plan was given.
    pose_asked: dict[str, float] = field(default_factory=dict)
    pose_ratio: dict[str, float] = field(default_factory=dict)
    #: Each eye's aspect ratio at its deepest over its open median ("l", "r": screen sides).
    closure: dict[str, float] = field(default_factory=dict)
    #: The open mouth's interior colour and lower lip (`measures.MouthMeter.result`).
    mouth: dict[str, Any] = field(default_factory=dict)
    #: Change just outside the subject's edge against far from it (`subject.HaloMeter`).
    halo: dict[str, Any] = field(default_factory=dict)
    #: The face's height as a share of the frame's (`subject.FaceShareMeter`).
    face_share: dict[str, Any] = field(default_factory=dict)
    #: For a video with a voice: lip-sync r and lag, bilabial closures, intelligibility
    #: (`quality.speech`); empty for a silent video.
    speech: dict[str, Any] = field(default_factory=dict)
    #: Per frame, the tracked subject's face box (brows to chin, jaw to jaw; None where it was
    #: not found), for the contact sheet's face crops (`write_sheet`); not in the JSON.
    subject_boxes: list[tuple[float, float, float, float] | None] = field(
        default_factory=list, repr=False
    )

    @property
    def found_share(self) -> float | None:
        """Share of the prompt's named motions found in the named direction."""
        if not self.motions:
            return None
        return sum(c.found for c in self.motions) / len(self.motions)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["subject_boxes"]
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
    asked: dict[str, float] | None = None,
    audio: Audio | None = None,
    line: str | None = None,
) -> Report:
    """Measure a video (its RGB frames) against the reference photo and the prompt.

    `asked` gives the yaw and pitch extremes a plan asked for (`pose_reached`'s keys), to report
    how much of them the video reached.
    """
    analyzer = analyzer or get_analyzer()
    # The subject is the face the service animates (its own detector's choice), not dlib's
    # largest: in a group photo the two differ.
    chosen = service_subject(reference)
    reference_face = analyzer.subject(reference, parameter="reference")
    if chosen is not None:
        reference_face = nearest_face(analyzer.detect(reference), [chosen.box]) or reference_face
    assert reference_face.landmarks is not None
    descriptor = analyzer.descriptor(reference, reference_face.landmarks)
    mouth = MouthMeter(reference, reference_face.landmarks)
    halo, share = HaloMeter(), FaceShareMeter()

    def on_frame(frame: np.ndarray, points: np.ndarray | None) -> None:
        for meter in (mouth, halo, share):
            meter.add(frame, points)

    frames = iter(frames)
    first = next(frames, None)
    start = None
    if first is not None and chosen is not None:
        start = expected_boxes(reference, chosen, (first.shape[1], first.shape[0]))
    tr = track(
        itertools.chain([] if first is None else [first], frames), analyzer, fps=fps,
        reference=descriptor, identity_step=identity_step, on_frame=on_frame, start=start,
        detect_every=DETECT_EVERY if audio is None else SPEECH_DETECT_EVERY,
    )  # fmt: skip
    signals = Signals(tr)
    pose = pose_reached(signals)
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
        pose=pose,
        pose_asked=dict(asked or {}),
        pose_ratio=pose_against(pose, asked) if asked else {},
        closure=blink_closure(signals),
        mouth=mouth.result(),
        halo=halo.result(),
        face_share=share.result(),
        speech=_speech(tr.landmarks, audio, line, prompt, fps) if audio is not None else {},
        subject_boxes=[None if p is None else face_box(p) for p in tr.landmarks],
    )


def _speech(
    landmarks: list[np.ndarray | None], audio: Audio, line: str | None, prompt: str, fps: float
) -> dict[str, Any]:
    """The speech measures; the phones by aligning the known line (given, or the prompt's
    spoken lines) with the video's own audio, never from the engine's plan."""
    text = line or " ".join(x.text for x in read_lines(prompt) if x.voiced)
    phones = align(audio, text) if text else []
    score = score_video(landmarks, audio, phones, fps)
    result: dict[str, Any] = {
        "lip_sync_r": round(score.r, 3),
        "lip_sync_lag_frames": score.lag,
        "bilabials": score.bilabials,
        "closed": score.closed,
        "closure_share": round(score.closure_share, 3) if score.bilabials else None,
        "line": text,
    }
    if text:
        accuracy, heard = intelligibility(audio, text)
        result |= {"word_accuracy": round(accuracy, 3), "heard": heard}
    return result


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
    lines += _measure_lines(report)
    for c in report.motions:
        mark = "found" if c.found else "NOT found"
        lines.append(f"  {c.kind:<12} {mark:<10} value {c.value:+.3f}  ({c.expected})")
    if report.found_share is not None:
        lines.append(f"named motions found: {100 * report.found_share:.0f}%")
    if report.speech:
        sp = report.speech
        lines.append(
            f"speech: lip-sync r {sp['lip_sync_r']:.2f} (lag {sp['lip_sync_lag_frames']:+d} "
            f"frames); lips closed on {sp['closed']}/{sp['bilabials']} m/b/p; word accuracy "
            + (f"{100 * sp['word_accuracy']:.0f}%" if "word_accuracy" in sp else "n/a")
        )
    return "\n".join(lines)


def _measure_lines(report: Report) -> list[str]:
    """Pose reached, blink closure and the mouth's interior, as lines."""
    p = report.pose
    lines = []
    if p:
        lines.append(
            f"pose reached: yaw {p['yaw_min']:+.1f}..{p['yaw_max']:+.1f}°, "
            f"pitch {p['pitch_min']:+.1f}..{p['pitch_max']:+.1f}°"
        )
    if report.pose_ratio:
        parts = [
            f"{k} {report.pose_asked[k]:+.1f}° asked, {100 * v:.0f}% reached"
            for k, v in report.pose_ratio.items()
        ]
        lines.append("pose against the plan: " + "; ".join(parts))
    if report.closure:
        c = report.closure
        lines.append(f"blink closure (deepest EAR / open): left {c['l']:.2f}, right {c['r']:.2f}")
    m = report.mouth
    if m and m.get("frames_open"):
        lines.append(
            f"mouth interior over {m['frames_open']} open frames: Lab {m['interior_lab']}, "
            f"hue {m['interior_hue_off']}° off the lips, "
            f"{'COLOUR CAST' if m['cast'] else 'no cast'}; lower lip {m['lower_lip']:.2f} of its "
            f"thickness, {'VANISHED' if m['lower_lip_vanished'] else 'kept'}"
        )
    h = report.halo
    if h and h.get("pairs"):
        lines.append(
            f"matte halo: change just outside the subject's edge {h['band']:.2f}, far from it "
            f"{h['far']:.2f} grey levels a frame; excess {h['excess']:+.2f}, at the head "
            + ("n/a" if h["head_excess"] is None else f"{h['head_excess']:+.2f}")
        )
    f = report.face_share
    if f and f.get("frames"):
        lines.append(
            f"face height: at least {100 * f['least']:.0f}%, mean {100 * f['mean']:.0f}% of the "
            "frame height"
        )
    return lines


def planned_pose(prompt: str, seed: int, frames: int, fps: int) -> dict[str, float]:
    """The yaw and pitch extremes (from the first frame) that the portrait engine's plan asks
    for this prompt, seed and length: what `evaluate(asked=...)` compares the video with."""
    from subject2video.engines.portrait.plan import plan_motion

    plan = plan_motion(prompt, seed, frames, fps)
    yaw, pitch = plan.curves["yaw"], plan.curves["pitch"]
    return {
        "yaw_min": float((yaw - yaw[0]).min()),
        "yaw_max": float((yaw - yaw[0]).max()),
        "pitch_min": float((pitch - pitch[0]).min()),
        "pitch_max": float((pitch - pitch[0]).max()),
    }


def write_sheet(
    frames: Iterable[np.ndarray],
    total: int,
    path: Path,
    *,
    mouths: tuple[Iterable[np.ndarray], Sequence[tuple[str, np.ndarray]]] | None = None,
    report: Report | None = None,
) -> None:
    """Write `contact_sheet` of the frames to a PNG at `path`; with `mouths` (the frames again,
    and real photos as (label, RGB)), a third row: the video's most open mouths beside the
    photos' (quality/sheet.mouth_row), enlarged. With the video's `report`, the face crops
    follow the subject it tracked (in a group, the largest face may be someone else's)."""
    from PIL import Image

    boxes = report.subject_boxes if report is not None else None
    rows = [contact_sheet(frames, total, boxes=boxes)]
    if mouths is not None:
        rows.append(mouth_row(*mouths))
    Image.fromarray(stack(rows)).save(path, optimize=True)
