"""Measures of how far a motion went, read from dlib's landmarks tracked in the video.

- **Pose reached**: head yaw and pitch (solvePnP on the tracked landmarks, `head_pose`) at their
  extremes, in degrees from the first frames, set against what a plan asked for when one is
  given.
- **Blink closure**: each eye's aspect ratio at its deepest point, relative to its open median
  (a real blink falls under 0.3; a lid that only droops stays near 0.7).
- **Mouth interior**: on frames where the lips part, the colour inside the inner lip and the
  lower lip's band, against the photo's own lips. A *cast* is an interior whose hue leaves the
  warm reds of the lips (grey-violet, blue, green) or that is grey; a *vanished lower lip* is a band
  under the opening as dark as the cavity (nearer its lightness than the lips'), or under 35% of
  its thickness in the photo.

Example::

    mouth = MouthMeter(reference_rgb, reference_landmarks)
    for frame, points in tracked: mouth.add(frame, points)
    mouth.result()  # {"frames_open": 31, "cast": False, "lower_lip": 0.82, ...}
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from subject2video.quality.motion import Signals

#: Inner-lip opening (over mouth width) from which a frame counts as open.
OPEN = 0.08
#: Largest hue difference (degrees, Lab a*b*) between interior and lips before it is a cast.
CAST_HUE = 50.0
#: Lower-lip band thickness, relative to the photo's, under which the lip has vanished.
VANISHED = 0.35


def pose_reached(s: Signals) -> dict[str, float]:
    """Extremes of yaw and pitch (degrees, smoothed over 3 frames) from the first frames."""
    yaw, pitch = s.delta("yaw"), s.delta("pitch")
    return {
        "yaw_min": float(yaw.min()),
        "yaw_max": float(yaw.max()),
        "pitch_min": float(pitch.min()),
        "pitch_max": float(pitch.max()),
    }


def pose_against(reached: dict[str, float], asked: dict[str, float]) -> dict[str, float]:
    """Reached over asked, per extreme the plan asked for (at least 3°); 1.0 is all of it."""
    ratios = {}
    for key, want in asked.items():
        if abs(want) >= 3.0:
            ratios[key] = reached[key] / want
    return ratios


def blink_closure(s: Signals) -> dict[str, float]:
    """Each eye's smallest aspect ratio over its median (1: never closed; 0: fully shut)."""
    result = {}
    for eye in ("l", "r"):
        values = s[f"ear_{eye}"]
        result[eye] = float(values.min() / max(float(np.median(values)), 1e-6))
    return result


def _lab(pixels: np.ndarray) -> np.ndarray:
    rgb = np.clip(pixels.reshape(-1, 1, 3), 0, 255).astype(np.uint8)
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float64)
    lab[:, 1:] -= 128.0
    lab[:, 0] *= 100.0 / 255.0
    return lab


def _region(image: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(polygon).astype(np.int32)], 255)
    return image[mask > 0]


def _hue(lab: np.ndarray) -> float:
    return math.degrees(math.atan2(lab[2], lab[1]))


def _thickness(points: np.ndarray) -> float:
    """The lower lip's thickness (outer 56-58 under inner 65-67) over the mouth's width."""
    width = max(float(np.linalg.norm(points[54] - points[48])), 1.0)
    return float(np.mean(points[[56, 57, 58], 1] - points[[65, 66, 67], 1])) / width


class MouthMeter:
    """Collects the mouth's interior and lower-lip colours over the open frames of a video."""

    def __init__(self, reference: np.ndarray, landmarks: np.ndarray) -> None:
        points = np.asarray(landmarks, np.float64)
        lip = _region(reference, points[[48, 59, 58, 57, 56, 55, 54, 64, 65, 66, 67, 60]])
        self.lip = _lab(lip).mean(0) if len(lip) else np.array([50.0, 20.0, 10.0])
        self.thickness = max(_thickness(points), 1e-3)
        self.interiors: list[np.ndarray] = []
        self.darks: list[np.ndarray] = []
        self.bands: list[np.ndarray] = []
        self.ratios: list[float] = []

    def add(self, frame: np.ndarray, points: np.ndarray | None) -> None:
        """Measure one frame (RGB) with its tracked 68 landmarks, if its lips part."""
        if points is None:
            return
        p = np.asarray(points, np.float64)
        width = max(float(np.linalg.norm(p[54] - p[48])), 1.0)
        opening = float(np.mean(p[[67, 66, 65], 1] - p[[61, 62, 63], 1])) / width
        if opening < OPEN:
            return
        inside = _region(frame, p[60:68])
        band = _region(frame, p[[60, 67, 66, 65, 64, 55, 56, 57, 58, 59]])
        if len(inside) < 6 or len(band) < 6:
            return
        lab = _lab(inside)
        self.interiors.append(lab.mean(0))
        # The darker half: the cavity itself, whatever teeth show above it.
        self.darks.append(lab[lab[:, 0] <= np.median(lab[:, 0])].mean(0))
        self.bands.append(_lab(band).mean(0))
        self.ratios.append(_thickness(p) / self.thickness)

    def result(self) -> dict[str, Any]:
        """The verdict over the open frames (None values where no frame opened)."""
        if not self.interiors:
            return {"frames_open": 0, "interior_lab": None, "cast": None, "lower_lip": None,
                    "lower_lip_vanished": None}  # fmt: skip
        interior = np.mean(self.interiors, axis=0)
        chroma = float(np.hypot(interior[1], interior[2]))
        turn = abs((_hue(interior) - _hue(self.lip) + 180) % 360 - 180)
        cast = chroma < 4.0 or turn > CAST_HUE
        band = np.mean(self.bands, axis=0)
        dark = np.mean(self.darks, axis=0)
        # A lower lip painted over by the interior is as dark as the cavity, nearer its
        # lightness than the lips'.
        painted_over = bool(band[0] < (self.lip[0] + dark[0]) / 2)
        ratio = float(np.median(self.ratios))
        return {
            "frames_open": len(self.interiors),
            "interior_lab": [round(float(v), 1) for v in interior],
            "interior_hue_off": round(turn, 1),
            "cast": bool(cast),
            "lower_lip": round(ratio, 3),
            "lower_lip_vanished": bool(ratio < VANISHED or painted_over),
        }
