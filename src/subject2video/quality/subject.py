"""Measures of the subject against its surroundings: the matte's halo and the face's share.

- **Matte halo**: the frame-to-frame change in a thin band just outside the subject's edge (and
  outside it in the frame before too: background in both, so a still background does not change
  there however the subject moves), against the change in background far from the subject. A matte
  that drags the background with the head, or a plate whose fill shows as the head moves, flickers
  in that band while the far background is still. The subject's edge in each frame is found in the
  video itself (person segmentation of the whole frame, kept to the person connected to the face
  dlib tracks), never taken from the engine. Reported as the band's and the far background's mean
  absolute change in grey levels (0-255) per frame step, and their difference, `excess` (0 for a
  clean edge); `head_excess` is the same over the head's part of the band (hair, ears, cheeks),
  where seams and grey bands show. The whole band also counts the body's own edge moving (breathing,
  a shrug), so compare engines on the same prompt and seed.
- **Face share**: the tracked face's height (brows to chin, dlib's landmarks, times 1.25 for the
  forehead) as a share of the frame height: least and mean over the tracked frames.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

#: Halo: every this many frames, one pair (the frame and the one before it) is measured.
HALO_STEP = 3
#: The band outside the subject's edge (its width, and its distance from the edge), and where
#: "far" begins, in face widths.
BAND = 0.08
CLEAR = 0.04
FAR = 0.6
#: Face height from the brows to the chin, times this, is the whole face (hairline to chin).
FOREHEAD = 1.25


def _grey(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)


def face_box(points: np.ndarray) -> tuple[float, float, float, float]:
    """A detector-like face box (brows to chin, jaw to jaw) from 68 landmarks."""
    p = np.asarray(points, np.float64)
    return float(p[:, 0].min()), float(p[17:27, 1].min()), float(p[:, 0].max()), float(p[8, 1])


class HaloMeter:
    """The change just outside the subject's edge against the change far from it."""

    def __init__(self, step: int = HALO_STEP) -> None:
        self.step = step
        self.index = -1
        self.previous: tuple[np.ndarray, np.ndarray] | None = None
        self.band: list[float] = []
        self.far: list[float] = []
        self.head: list[float] = []

    def add(self, frame: np.ndarray, points: np.ndarray | None) -> None:
        """One frame (RGB) with its tracked 68 landmarks."""
        self.index += 1
        grey = _grey(frame)
        previous, self.previous = self.previous, (frame, grey)
        if previous is None or points is None or self.index % self.step:
            return
        from subject2video.engines.portrait.segment import person_matte

        box = face_box(points)
        fw = max(box[2] - box[0], 1.0)
        subject = (person_matte(frame, box, bounded=False) > 0.5).astype(np.uint8)
        before = (person_matte(previous[0], box, bounded=False) > 0.5).astype(np.uint8)
        if not subject.any():
            return
        outside = cv2.distanceTransform(1 - subject, cv2.DIST_L2, 3)
        # Background in both frames (clear of the subject's edge by a margin in both, since one
        # segmentation and another differ by a few pixels): a still background does not change
        # there, however the subject moves.
        margin = max(2.0, CLEAR * fw)
        clear = cv2.distanceTransform(1 - before, cv2.DIST_L2, 3) > margin
        band = (outside > margin) & (outside <= margin + max(2.0, BAND * fw)) & clear
        far = outside > FAR * fw
        if band.sum() < 20 or far.sum() < 20:
            return
        change = np.abs(grey - previous[1])
        self.band.append(float(change[band].mean()))
        self.far.append(float(change[far].mean()))
        # The head's part of the band (above the chin and within 1.5 face widths of the face):
        # where hair and ears meet the background, and where a seam or a grey band shows.
        w = grey.shape[1]
        head = np.zeros_like(band)
        cx = (box[0] + box[2]) / 2
        chin = round(box[3] + 0.3 * (box[3] - box[1]))
        head[: max(0, chin), max(0, round(cx - 1.5 * fw)) : min(w, round(cx + 1.5 * fw))] = True
        if (band & head).sum() >= 20:
            self.head.append(float(change[band & head].mean()))

    def result(self) -> dict[str, Any]:
        if not self.band:
            return {"pairs": 0, "band": None, "far": None, "excess": None, "head_excess": None}
        band, far = float(np.mean(self.band)), float(np.mean(self.far))
        head = float(np.mean(self.head)) - far if self.head else None
        return {
            "pairs": len(self.band),
            "band": round(band, 3),
            "far": round(far, 3),
            "excess": round(band - far, 3),
            "head_excess": None if head is None else round(head, 3),
        }


class FaceShareMeter:
    """The tracked face's height as a share of the frame height."""

    def __init__(self) -> None:
        self.shares: list[float] = []

    def add(self, frame: np.ndarray, points: np.ndarray | None) -> None:
        if points is None:
            return
        _, top, _, chin = face_box(points)
        self.shares.append(FOREHEAD * (chin - top) / frame.shape[0])

    def result(self) -> dict[str, Any]:
        if not self.shares:
            return {"frames": 0, "least": None, "mean": None}
        return {
            "frames": len(self.shares),
            "least": round(float(np.min(self.shares)), 3),
            "mean": round(float(np.mean(self.shares)), 3),
        }
