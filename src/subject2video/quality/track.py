"""Following the subject through a video: 68 landmarks on every frame, identity on some, and the
background's motion against the first frame.

Detection (dlib's HOG) runs on every tenth frame; the other frames place the shape predictor's
box from the previous frame's rigid landmarks (brows, nose, eyes), the way the detector placed
it, which is faster and steadier than detecting every frame; the regular detection stops the
drift that tracking alone shows on a face that keeps moving. The box must not follow the jaw:
placed from all 68 points, a mouth open in one frame made the next frame's box taller and
lower, and the predictor, started from its mean shape in that box, read lips that had shut as
2-5 px apart (the laughing man of the group photo: 9 of 35 m/b/p read open that read shut from
the detector's own box), and on a face turned about 45° the lip points walked up onto the
nose. Works on any engine's video.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import cv2
import numpy as np

from subject2video.media.faces import FaceAnalyzer
from subject2video.media.subject import Face
from subject2video.quality.subject import Box, face_box, nearest_face

#: The detector runs again on every this-many-th frame: tracking from landmarks alone drifts on
#: a face that keeps moving (a pan), and a fresh detection re-anchors it.
DETECT_EVERY = 10
#: For the lip gap of a speaking video, the detector runs on every frame: each frame's lips are
#: read from dlib's own box on that frame, never from a box the previous frames' landmarks
#: placed. On a face turned about 45° the landmarks followed from frame to frame drift (the
#: lip points onto the nose) however the box is placed; detected on every frame, the standing
#: man of the group photo read r 0.55-0.77 where every tenth frame read 0.41-0.76.
SPEECH_DETECT_EVERY = 1
#: Followed landmarks whose face's height over width (brows to chin over jaw to jaw) leaves this
#: range, against the detected face's, are lost: flattened into a line on a face turned towards
#: profile.
SHAPE = (0.6, 1.6)
#: Outside this range they are detected again (and kept where the detector misses the face): on
#: a face turned about 40° a nod's landmarks, followed, put the chin on the lower lip for five
#: frames (a brows-to-chin height two thirds of the detected one's), and the face's share of
#: the frame read 0.18 where the face was a third of it.
SNUG = (0.8, 1.25)
#: Background motion is measured on every this-many-th frame, at this short side.
BACKGROUND_STEP = 5
BACKGROUND_SIDE = 360


@dataclass
class Track:
    """What tracking a video found, frame by frame."""

    size: tuple[int, int]
    fps: float
    landmarks: list[np.ndarray | None] = field(default_factory=list)
    #: (frame index, descriptor distance to the reference) for the frames checked.
    identity: list[tuple[int, float]] = field(default_factory=list)
    #: (frame index, zoom, shift x px, shift y px, residual grey levels) against frame 0.
    background: list[tuple[int, float, float, float, float]] = field(default_factory=list)
    #: Share of the frame counted as background (outside every frame's subject region).
    background_share: float = 0.0


#: The landmarks that do not move with the jaw or the lips (brows, nose, eyes): the tracked box
#: is placed from these alone.
RIGID = slice(17, 48)


def _offsets(points: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """Where the detector's box lies against the rigid landmarks' extent, in its sizes."""
    lo, hi = points[RIGID].min(0), points[RIGID].max(0)
    return (np.array(box, float) - np.concatenate([lo, hi])) / np.concatenate([hi - lo, hi - lo])


def _box_from(points: np.ndarray, offsets: np.ndarray) -> tuple[int, int, int, int]:
    """The box the detector would have drawn around a face whose rigid landmarks are these."""
    lo, hi = points[RIGID].min(0), points[RIGID].max(0)
    size = np.concatenate([hi - lo, hi - lo])
    box = np.concatenate([lo, hi]) + offsets * size
    return tuple(round(v) for v in box)  # type: ignore[return-value]


def subject_region(points: np.ndarray, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """A generous head-and-shoulders box for one frame's landmarks, down to the frame's bottom."""
    w, h = size
    fw = float(np.linalg.norm(points[16] - points[0]))
    fh = float(points[8, 1] - points[17:27, 1].mean())
    cx = float(points[27:31, 0].mean())
    top = float(points[17:27, 1].min()) - 1.1 * fh
    return max(0, int(cx - 1.7 * fw)), max(0, int(top)), min(w, int(cx + 1.7 * fw)), h


def track(
    frames: Iterable[np.ndarray],
    analyzer: FaceAnalyzer,
    *,
    fps: float = 25.0,
    reference: np.ndarray | None = None,
    identity_step: int = 1,
    on_frame: Callable[[np.ndarray, np.ndarray | None], None] | None = None,
    start: list[Box] | None = None,
    detect_every: int = DETECT_EVERY,
) -> Track:
    """Landmarks of the subject in every frame; identity every `identity_step` frames.

    The subject is first the face that best matches one of the `start` boxes (where the service's
    subject should be, `subject.expected_boxes`), or the largest face without them; then the face
    where the subject was.

    `on_frame(frame, landmarks)` is called for every frame, for measures that need pixels.
    The detector runs on every `detect_every`-th frame (`SPEECH_DETECT_EVERY` for lip gaps).
    """
    result: Track | None = None
    offsets: np.ndarray | None = None
    previous: np.ndarray | None = None
    #: The subject's width (jaw to jaw) and its face's shape where the detector last found it.
    reach: float | None = None
    aspect: float | None = None
    greys: list[tuple[int, np.ndarray]] = []
    for index, frame in enumerate(frames):
        if result is None:
            result = Track(size=(frame.shape[1], frame.shape[0]), fps=fps)
        points = followed = None
        if previous is not None and offsets is not None:
            points = analyzer.landmarks(frame, _clip(_box_from(previous, offsets), result.size))
            if not _plausible(points, previous, aspect):
                points = None
            elif not _plausible(points, previous, aspect, SNUG):
                # Of a face's shape, but not of this face's as last detected: detected again,
                # and kept only where the detector misses the face.
                points, followed = None, points
        if points is None or index % detect_every == 0:
            found = _subject(analyzer.detect(frame), previous, start, held=reach)
            if found is not None and found.landmarks is not None:
                points = found.landmarks
                reach = float(np.linalg.norm(points[16] - points[0]))
                aspect = _aspect(points)
                offsets = _offsets(points, found.box)
        if points is None:
            points = followed
        result.landmarks.append(points)
        if on_frame is not None:
            on_frame(frame, points)
        previous = points if points is not None else previous
        if points is not None and reference is not None and index % identity_step == 0:
            distance = float(np.linalg.norm(analyzer.descriptor(frame, points) - reference))
            result.identity.append((index, distance))
        if index % BACKGROUND_STEP == 0:
            greys.append((index, _grey(frame)))
    if result is None:
        raise ValueError("the video has no frames")
    _background(result, greys)
    return result


def _subject(
    faces: list[Face],
    previous: np.ndarray | None,
    start: list[Box] | None = None,
    *,
    held: float | None = None,
) -> Face | None:
    """The subject among a frame's faces: at first the one where the service's subject should be
    (`start`; the largest without it), then the one where the subject was, so that a photo of
    several people is measured on the person the engine animated.

    `held`: the subject's width where the detector last found it. Where the detector then misses
    the subject (a face turned and laughing, or turned towards profile) and every face it finds
    lies more than 1.5 such widths from where the subject was, none replaces it, whether its
    landmarks were followed into this frame or lost on the way: in a group photo that is a
    bystander, and the rest of the video was measured on them (a laugh and a turn read 0.75 on
    the bystander's descriptor, the motions on a still face). A face nearer than that is taken:
    landmarks followed frame to frame can drift off the face (on Grace Hopper's laugh and turn
    they shrank to a few pixels beside it), and the detection brings them back."""
    if not faces:
        return None
    if previous is None:
        return (nearest_face(faces, start) if start else None) or faces[0]
    span = float(np.linalg.norm(previous[16] - previous[0]))
    centre = previous.mean(0)
    nearest = min(faces, key=lambda f: float(np.hypot(*(np.array(f.center) - centre))))
    if float(np.hypot(*(np.array(nearest.center) - centre))) < 0.6 * max(span, 1.0):
        return nearest
    if held is not None:
        away = float(np.hypot(*(np.array(nearest.center) - centre)))
        return nearest if away < 1.5 * held else None
    return faces[0]


def _clip(box: tuple[int, int, int, int], size: tuple[int, int]) -> tuple[int, int, int, int]:
    w, h = size
    x0, y0, x1, y1 = box
    return max(0, x0), max(0, y0), min(w, max(x1, x0 + 2)), min(h, max(y1, y0 + 2))


def _aspect(points: np.ndarray) -> float:
    """The face's height (brows to chin, `face_box`) over its width (jaw to jaw)."""
    _, top, _, chin = face_box(points)
    return (chin - top) / max(float(np.linalg.norm(points[16] - points[0])), 1e-6)


def _plausible(
    points: np.ndarray,
    previous: np.ndarray,
    aspect: float | None = None,
    shape: tuple[float, float] = SHAPE,
) -> bool:
    """Whether tracked landmarks still sit on a face of about the last frame's size and place,
    and (`aspect`, as the detector last found it) of about a face's shape (`shape`: the least
    and most of the height-to-width ratio, against the detected one's): on a face turned
    towards profile, where the detector no longer finds it, followed landmarks flattened frame by
    frame into a line (the turned woman's brows-to-chin height went from 220 px to 1 over 20
    frames), and every frame after was measured on them (identity 0.86)."""
    span = np.linalg.norm(previous[16] - previous[0])
    now = np.linalg.norm(points[16] - points[0])
    moved = np.linalg.norm(points.mean(0) - previous.mean(0))
    low, high = shape
    shaped = aspect is None or low < _aspect(points) / max(aspect, 1e-6) < high
    return bool(0.7 < now / max(span, 1e-6) < 1.4 and moved < 0.5 * span and shaped)


def _grey(frame: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    scale = BACKGROUND_SIDE / min(h, w)
    size = (round(w * scale), round(h * scale))
    return cv2.resize(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), size, interpolation=cv2.INTER_AREA)


def _background(result: Track, greys: list[tuple[int, np.ndarray]]) -> None:
    """Camera motion and what is left after undoing it, outside the subject, against frame 0."""
    if not greys:
        return
    first = greys[0][1]
    gh, gw = first.shape
    scale = gw / result.size[0]
    mask = np.full((gh, gw), 255, np.uint8)
    for points in result.landmarks:
        if points is not None:
            x0, y0, x1, y1 = (round(v * scale) for v in subject_region(points, result.size))
            mask[y0:y1, x0:x1] = 0
    result.background_share = float((mask > 0).mean())
    if result.background_share < 0.05:
        return
    corners = cv2.goodFeaturesToTrack(first, 300, 0.01, 6, mask=mask)
    for index, grey in greys:
        matrix = np.array([[1.0, 0, 0], [0, 1.0, 0]])
        if corners is not None and len(corners) >= 8:
            moved, ok, _ = cv2.calcOpticalFlowPyrLK(first, grey, corners, None)
            good = ok.ravel() == 1
            if good.sum() >= 8:
                found, _ = cv2.estimateAffinePartial2D(
                    corners[good], moved[good], method=cv2.RANSAC
                )
                if found is not None:
                    matrix = found
        zoom = float(np.hypot(matrix[0, 0], matrix[1, 0]))
        back = cv2.warpAffine(
            grey,
            cv2.invertAffineTransform(matrix),
            (gw, gh),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        )
        seen = cv2.warpAffine(np.full_like(grey, 255), cv2.invertAffineTransform(matrix), (gw, gh))
        valid = cv2.erode(cv2.bitwise_and(mask, seen), np.ones((5, 5), np.uint8)) > 0
        residual = (
            float(np.abs(back.astype(np.float32) - first)[valid].mean()) if valid.any() else 0.0
        )
        result.background.append(
            (index, zoom, float(matrix[0, 2] / scale), float(matrix[1, 2] / scale), residual)
        )
