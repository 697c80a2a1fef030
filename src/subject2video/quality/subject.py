"""Measures of the subject against its surroundings: the matte's halo and the face's share.

- **Matte halo**: the frame-to-frame change in a thin band just outside the subject's edge (and
  outside it in the frame before too: background in both, so a still background does not change
  there however the subject moves), against the change in background far from the subject. A matte
  that drags the background with the head, or a plate whose fill shows as the head moves, flickers
  in that band while the far background is still. The subject's edge in each frame is found in the
  video itself (person segmentation of the whole frame, kept to the person connected to the face
  dlib tracks, with the ears the segmentation misses found beside the face's mesh), never taken
  from the engine. Reported as the band's and the far background's mean absolute change in grey
  levels (0-255) per frame step, and their difference, `excess` (0 for a clean edge);
  `head_excess` is the same over the head's part of the band (hair, ears, cheeks), where seams
  and grey bands show. The whole band also counts the body's own edge moving (breathing, a
  shrug), so compare engines on the same prompt and seed.
- **The subject**: in a photo of several people, the face measured is the one the service animates
  (its detector's choice, `service_subject`), found among dlib's faces in the reference photo and,
  placed where the framing puts it (`expected_boxes`), in the video's first frames; never simply
  dlib's largest face.
- **Face share**: the tracked face's height (brows to chin, dlib's landmarks, times 1.25 for the
  forehead) as a share of the frame height: least and mean over the tracked frames.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from subject2video.media.subject import Face

Box = tuple[float, float, float, float]

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


def _person(frame: np.ndarray, box: Box) -> np.ndarray:
    """The person connected to the face in `box` (uint8 0/1), ears included: the selfie model
    misses some ears, which would then count as background moving beside the head."""
    from subject2video.engines.portrait.ears import add_ears
    from subject2video.engines.portrait.face3d import MIN_PRESENCE
    from subject2video.engines.portrait.landmarks import get_mesher
    from subject2video.engines.portrait.segment import person_matte

    alpha = person_matte(frame, box, bounded=False)
    x0, y0, x1, y1 = (round(v) for v in box)
    if min(x1 - x0, y1 - y0) >= 20:
        mesh = get_mesher().mesh(frame, (x0, y0, x1, y1))
        if mesh.presence >= MIN_PRESENCE:
            alpha, _ = add_ears(frame, alpha, mesh)
    return (alpha > 0.5).astype(np.uint8)


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
        box = face_box(points)
        fw = max(box[2] - box[0], 1.0)
        subject = _person(frame, box)
        before = _person(previous[0], box)
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


def service_subject(photo: np.ndarray) -> Face | None:
    """The face the service animates in `photo` (MediaPipe's detector, largest first, as
    `tasks.pipeline.prepare` chooses it), or None where it finds no face."""
    from subject2video.media.detector import get_detector

    faces = get_detector().detect(photo)
    return faces[0] if faces else None


def expected_boxes(photo: np.ndarray, face: Face, size: tuple[int, int]) -> list[Box]:
    """Where the service's subject (`face`, in the photo's pixels) lies in a video of `size`
    (width, height) made from `photo`: with the photo's own framing (also a push-in's first
    frame) and framed as a medium close-up (`media.framing`), each in the video's pixels."""
    from subject2video.media.framing import fit_to_aspect, frame_subject

    fitted = fit_to_aspect(photo, face, size)
    boxes = []
    for framed in (fitted, frame_subject(fitted.image, fitted.face, size)):
        ih, iw = framed.image.shape[:2]
        sx, sy = size[0] / iw, size[1] / ih
        x0, y0, x1, y1 = framed.face.box
        boxes.append((x0 * sx, y0 * sy, x1 * sx, y1 * sy))
    return boxes


def nearest_face(faces: list[Face], boxes: list[Box]) -> Face | None:
    """The face among `faces` that best matches one of `boxes` (centre distance in the box's
    sizes, and size): how a measurer finds the service's subject among dlib's faces."""
    if not faces or not boxes:
        return None

    def cost(face: Face) -> float:
        best = np.inf
        for x0, y0, x1, y1 in boxes:
            size = max(x1 - x0, y1 - y0, 1.0)
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            away = float(np.hypot(face.center[0] - cx, face.center[1] - cy)) / size
            scale = abs(float(np.log(max(face.height, 1) / size)))
            best = min(best, away + 0.5 * scale)
        return best

    return min(faces, key=cost)
