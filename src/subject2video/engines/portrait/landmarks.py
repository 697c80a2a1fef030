"""MediaPipe's face mesh (468 points with depth) and iris models, run on the CPU with LiteRT.

The models ship inside this package (`models/`, Apache-2.0, see `models/NOTICE`): nothing is
downloaded and TensorFlow is not needed. The mesh wants an upright face crop with margin: the
crop is made from a face box, then made again from the first pass's own landmarks (centred,
levelled by the eye line), as MediaPipe's tracking does.

Example::

    mesh = get_mesher().mesh(image, box=(180, 60, 330, 230))
    mesh.points.shape  # (468, 3): x, y in image pixels, z in pixels, larger is nearer
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from subject2video.engines.portrait.topology import EYE_CORNERS

logger = logging.getLogger(__name__)

MODELS = Path(__file__).parent / "models"
MESH_SIDE, IRIS_SIDE = 192, 64
#: The crop is this many times the landmarks' extent (MediaPipe uses 1.5 around a detection).
CROP_MARGIN = 1.5


@dataclass(frozen=True)
class FaceMesh:
    """One face's mesh in the pixels of the image it was read from."""

    #: (468, 3): x, y in pixels; z in pixels towards the viewer (the nose tip is largest).
    points: np.ndarray
    #: Face-presence probability of the last pass (0-1).
    presence: float
    #: Per eye ("l", "r": screen left, right): iris centre (x, y) and radius in pixels.
    irises: dict[str, tuple[float, float, float]]

    @property
    def width(self) -> float:
        """Distance between the mesh's cheek extremes (234, 454), in pixels."""
        return float(np.linalg.norm(self.points[454, :2] - self.points[234, :2]))

    def yaw_estimate(self) -> float:
        """A rough yaw of the photo's head in degrees from the nose's place between the cheeks."""
        left, right, nose = self.points[234, 0], self.points[454, 0], self.points[1, 0]
        share = (nose - left) / max(right - left, 1e-6)
        return math.degrees(math.asin(float(np.clip(2 * share - 1, -1, 1))))


class _Model:
    """One LiteRT interpreter: one float input, outputs by size."""

    def __init__(self, name: str) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(MODELS / name), num_threads=1)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]["index"]
        self.outputs = {
            int(np.prod(d["shape"])): d["index"] for d in self.interpreter.get_output_details()
        }

    def run(self, crop: np.ndarray) -> dict[int, np.ndarray]:
        self.interpreter.set_tensor(self.input, crop[None].astype(np.float32))
        self.interpreter.invoke()
        return {n: self.interpreter.get_tensor(i).reshape(-1) for n, i in self.outputs.items()}


def _crop_matrix(centre: np.ndarray, side: float, angle: float, out: int) -> np.ndarray:
    """The 2x3 affine from the image to an `out`-pixel square of `side` px, levelled by `angle`."""
    matrix = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, out / side)
    matrix[:, 2] += out / 2 - centre
    return matrix


def _back(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Crop coordinates (N, 2) back to image coordinates through the inverse of `matrix`."""
    inverse = cv2.invertAffineTransform(matrix)
    return points @ inverse[:, :2].T + inverse[:, 2]


class FaceMesher:
    """Loads the face-mesh and iris interpreters once; `mesh()` reads one face."""

    def __init__(self) -> None:
        self._mesh = _Model("face_landmark.tflite")
        self._iris = _Model("iris_landmark.tflite")

    def mesh(self, image: np.ndarray, box: tuple[int, int, int, int], passes: int = 3) -> FaceMesh:
        """The mesh of the face in `box` (left, top, right, bottom) of an RGB uint8 image."""
        x0, y0, x1, y1 = box
        # A detector's box covers brows to chin; the mesh's crop is a little higher and wider.
        centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2 - 0.05 * (y1 - y0)])
        side, angle = CROP_MARGIN * max(x1 - x0, y1 - y0), 0.0
        points, presence = np.zeros((468, 3)), 0.0
        for _ in range(passes):
            points, presence = self._pass(image, centre, side, angle)
            lo, hi = points[:, :2].min(0), points[:, :2].max(0)
            centre = (lo + hi) / 2
            side = CROP_MARGIN * float(np.max(hi - lo))
            dx, dy = points[263, :2] - points[33, :2]
            angle = math.degrees(math.atan2(dy, dx))
        irises = {eye: self._iris_of(image, points, eye) for eye in ("l", "r")}
        return FaceMesh(points, presence, irises)

    def _pass(
        self, image: np.ndarray, centre: np.ndarray, side: float, angle: float
    ) -> tuple[np.ndarray, float]:
        matrix = _crop_matrix(centre, side, angle, MESH_SIDE)
        crop = cv2.warpAffine(
            image, matrix, (MESH_SIDE, MESH_SIDE), flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
        )  # fmt: skip
        out = self._mesh.run(crop.astype(np.float32) / 255.0)
        raw = out[1404].reshape(468, 3)
        logit = float(out[1][0])
        points = np.empty((468, 3))
        points[:, :2] = _back(matrix, raw[:, :2])
        # Depth on the image's scale, sign flipped so that larger is nearer the viewer.
        points[:, 2] = -raw[:, 2] * side / MESH_SIDE
        return points, 1.0 / (1.0 + math.exp(-logit))

    def _iris_of(self, image: np.ndarray, points: np.ndarray, eye: str) -> tuple[float, ...]:
        """Iris centre and radius of one eye, from a 64-px crop around its corners."""
        a, b = (points[i, :2] for i in EYE_CORNERS[eye])
        dx, dy = (b - a) if eye == "l" else (a - b)
        angle = math.degrees(math.atan2(dy, dx))
        side = 2.3 * float(np.linalg.norm(b - a))
        matrix = _crop_matrix((a + b) / 2, side, angle, IRIS_SIDE)
        # The model reads the subject's left eye (screen right); the other eye is mirrored.
        flip = eye == "l"
        if flip:
            matrix = np.array([[-1.0, 0, IRIS_SIDE], [0, 1, 0]]) @ np.vstack([matrix, [0, 0, 1]])
        crop = cv2.warpAffine(image, matrix, (IRIS_SIDE, IRIS_SIDE), flags=cv2.INTER_LINEAR)
        iris = self._iris.run(crop.astype(np.float32) / 255.0)[15].reshape(5, 3)[:, :2]
        ring = _back(matrix, iris)
        centre = ring[0]
        radius = float(np.mean(np.linalg.norm(ring[1:] - centre, axis=1)))
        return float(centre[0]), float(centre[1]), radius


@functools.cache
def get_mesher() -> FaceMesher:
    """One FaceMesher per process, loaded on first use."""
    logger.debug("loading the face-mesh models from %s", MODELS)
    return FaceMesher()
