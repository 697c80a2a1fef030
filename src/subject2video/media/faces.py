"""Face analysis with dlib: detection, 68 landmarks, identity descriptor, head pose, eye openness.

The models come from the `face-recognition-models` package (installed in site-packages, nothing is
downloaded). The 68-point landmark model was trained on iBUG 300-W, whose licence excludes
commercial use: see the project README.
"""

from __future__ import annotations

import functools
import logging
import math
import warnings

import cv2
import dlib
import numpy as np

from subject2video.contract import IMAGE_PARAM
from subject2video.errors import ImageError
from subject2video.media.subject import Face

logger = logging.getLogger(__name__)

#: Detection runs on a copy whose long side is at most this many pixels.
DETECT_LONG_SIDE = 800
#: dlib's HOG detector finds faces down to about 80 px; below this working size we also try 2x.
_UPSAMPLE_BELOW = 1200

#: When a detection scores at least this, weaker ones in the same image are dropped: HOG finds
#: faint "faces" in textures (0.0-0.15 on the astronaut's suit) that could outsize the real one.
CONFIDENT_SCORE = 0.25

# A generic adult head in millimetres, in OpenCV's camera axes (x right, y down, z away from the
# viewer), nose tip at the origin, keyed by 68-landmark index. Only rigid points (eye corners and
# nose): the mouth and jaw move with expression and would read a smile as a nod. Proportions from
# common anthropometric averages (eye span 90 mm, nose 45 mm long and 20 mm proud of the bridge).
_MODEL_POINTS = {
    30: (0.0, 0.0, 0.0),  # nose tip
    27: (0.0, -45.0, 20.0),  # top of the nose bridge
    33: (0.0, 12.0, 16.0),  # base of the nose
    31: (-15.0, 8.0, 20.0),  # nostril wings
    35: (15.0, 8.0, 20.0),
    36: (-45.0, -38.0, 50.0),  # outer eye corners (36 is on screen left)
    45: (45.0, -38.0, 50.0),
    39: (-16.0, -38.0, 30.0),  # inner eye corners
    42: (16.0, -38.0, 30.0),
}
_MODEL_INDICES = list(_MODEL_POINTS)
_MODEL = np.array(list(_MODEL_POINTS.values()), dtype=np.float64)
_EYE_SPAN_MM = 90.0


def _model_files() -> tuple[str, str]:
    """Paths of the 68-point shape predictor and the ResNet descriptor model."""
    # face_recognition_models imports pkg_resources, which warns on recent setuptools.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import face_recognition_models as models

        return models.pose_predictor_model_location(), models.face_recognition_model_location()


def _rect(box: tuple[int, int, int, int]) -> dlib.rectangle:
    # dlib rectangles are inclusive; our boxes exclude right and bottom.
    left, top, right, bottom = (int(v) for v in box)
    return dlib.rectangle(left, top, right - 1, bottom - 1)


def _rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 image (H, W, 3), got {image.dtype} {image.shape}")
    return np.ascontiguousarray(image)


class FaceAnalyzer:
    """dlib's HOG detector, and its 68-point shape predictor and ResNet face descriptor, each
    loaded once, on first use (finding a face's box needs neither model file)."""

    def __init__(self) -> None:
        self._detector = dlib.get_frontal_face_detector()

    @functools.cached_property
    def _predictor(self) -> dlib.shape_predictor:
        path = _model_files()[0]
        logger.debug("68-point landmark model loaded from %s", path)
        return dlib.shape_predictor(path)

    @functools.cached_property
    def _encoder(self) -> dlib.face_recognition_model_v1:
        return dlib.face_recognition_model_v1(_model_files()[1])

    def detect(self, image: np.ndarray, *, landmarks: bool = True) -> list[Face]:
        """The faces in an RGB image, largest first, in its own pixels; with their 68 landmarks
        unless `landmarks` is False."""
        image = _rgb(image)
        height, width = image.shape[:2]
        scale = min(1.0, DETECT_LONG_SIDE / max(height, width))
        small = image
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        found = self._run_detector(small)
        faces = []
        for rect, score in found:
            box = (
                max(0, math.floor(rect.left() / scale)),
                max(0, math.floor(rect.top() / scale)),
                min(width, math.ceil((rect.right() + 1) / scale)),
                min(height, math.ceil((rect.bottom() + 1) / scale)),
            )
            if box[2] <= box[0] or box[3] <= box[1]:
                continue
            points = self.landmarks(image, box) if landmarks else None
            faces.append(Face(box=box, landmarks=points, score=float(score)))
        faces.sort(key=lambda face: face.area, reverse=True)
        return faces

    def _run_detector(self, image: np.ndarray) -> list[tuple[dlib.rectangle, float]]:
        rects, scores, _ = self._detector.run(image, 0, 0.0)
        if not rects and max(image.shape[:2]) < _UPSAMPLE_BELOW:
            # The face might be smaller than the detector's 80 px window: look again at 2x.
            rects, scores, _ = self._detector.run(image, 1, 0.0)
        found = list(zip(rects, scores, strict=True))
        if any(score >= CONFIDENT_SCORE for _, score in found):
            found = [(rect, score) for rect, score in found if score >= CONFIDENT_SCORE]
        return found

    def subject(
        self, image: np.ndarray, *, parameter: str = IMAGE_PARAM, landmarks: bool = True
    ) -> Face:
        """The largest face in the image, or an ImageError that names `parameter`."""
        faces = self.detect(image, landmarks=landmarks)
        if not faces:
            raise ImageError(
                f"Request parameter [{parameter}] must show a human face: "
                "no face was found in the image",
                parameter=parameter,
            )
        return faces[0]

    def landmarks(self, image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """The 68 dlib landmarks of the face in `box`, as a (68, 2) float32 array of (x, y)."""
        shape = self._predictor(_rgb(image), _rect(box))
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)

    def descriptor(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """The 128-d identity descriptor; faces of one person lie within about 0.6 of each other."""
        points = np.asarray(landmarks, dtype=np.float64).reshape(68, 2)
        left, top = np.floor(points.min(axis=0)).astype(int)
        right, bottom = np.ceil(points.max(axis=0)).astype(int)
        shape = dlib.full_object_detection(
            dlib.rectangle(int(left), int(top), int(right), int(bottom)),
            [dlib.point(round(x), round(y)) for x, y in points],
        )
        vector = self._encoder.compute_face_descriptor(_rgb(image), shape)
        return np.array(vector, dtype=np.float64)


@functools.cache
def get_analyzer() -> FaceAnalyzer:
    """One FaceAnalyzer per process, loaded on first use."""
    return FaceAnalyzer()


def head_pose(landmarks: np.ndarray, image_size: tuple[int, int]) -> tuple[float, float, float]:
    """Yaw, pitch and roll in degrees of the head, from its 68 landmarks and the image (w, h).

    All signs are as seen on screen. Yaw is positive when the subject turns towards screen right
    (the nose moves right), pitch is positive when the subject looks up, roll is positive when the
    head tilts clockwise (the eye on screen right is lower). A frontal face gives about (0, 0, 0).
    The camera is assumed to have a focal length of about the image's long side, as most photos
    do. The head model is generic, so a person's own proportions bias the angles by up to ~10°:
    compare poses of one face over time rather than trusting one absolute value.
    """
    width, height = image_size
    marks = np.asarray(landmarks, dtype=np.float64).reshape(68, 2)
    points = marks[_MODEL_INDICES]
    focal = float(max(width, height))
    camera = np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1]], dtype=np.float64)
    # Start from a frontal head at the distance its eye span implies, so that the solver does not
    # settle on the mirrored solution that a shallow set of points allows.
    span = max(float(np.linalg.norm(marks[45] - marks[36])), 1.0)
    rvec = np.zeros((3, 1))
    tvec = np.array([[0.0], [0.0], [focal * _EYE_SPAN_MM / span]])
    ok, rvec, _ = cv2.solvePnP(
        _MODEL, points, camera, np.zeros(4), rvec, tvec, True, cv2.SOLVEPNP_ITERATIVE
    )
    if not ok:
        return 0.0, 0.0, 0.0
    rotation, _ = cv2.Rodrigues(rvec)
    # The face looks along -z of the model; its right-hand side (screen right) is +x.
    forward = rotation @ np.array([0.0, 0.0, -1.0])
    across = rotation @ np.array([1.0, 0.0, 0.0])
    yaw = math.degrees(math.atan2(forward[0], -forward[2]))
    pitch = math.degrees(math.atan2(-forward[1], math.hypot(forward[0], forward[2])))
    roll = math.degrees(math.atan2(across[1], across[0]))
    return yaw, pitch, roll


def _ear(eye: np.ndarray) -> float:
    vertical = np.linalg.norm(eye[1] - eye[5]) + np.linalg.norm(eye[2] - eye[4])
    horizontal = np.linalg.norm(eye[0] - eye[3])
    return float(vertical / (2.0 * horizontal)) if horizontal > 0 else 0.0


def eye_aspect_ratio(landmarks: np.ndarray) -> tuple[float, float]:
    """The subject's left and right eye aspect ratios (Soukupová & Čech 2016).

    An open eye reads about 0.3, a shut one under 0.2. Left and right are the subject's own: the
    left eye is landmarks 42-47, on screen right.
    """
    points = np.asarray(landmarks, dtype=np.float64).reshape(68, 2)
    return _ear(points[42:48]), _ear(points[36:42])
