"""Re-timing by motion-compensated interpolation: the model's frames to exactly N output frames.

The model makes 16 fps; the output is 150 frames at 25 fps. The whole generated clip is spread over
the output (first frame to first, last to last), and each output frame that falls between two
generated frames is built from both by optical flow (OpenCV DIS) in each direction: each neighbour
is warped to the in-between time and the two are blended by their distance to it. Then each frame
is fitted to the output size (centre crop to its aspect, Lanczos scaling).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import cv2
import numpy as np

#: Output positions closer than this to a generated frame use that frame as it is.
_EXACT = 1e-3


class FlowInterpolator:
    """Builds in-between frames of two RGB uint8 frames with bidirectional dense optical flow."""

    def __init__(self) -> None:
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self._pair: tuple[int, int] | None = None
        self._flows: tuple[np.ndarray, np.ndarray] | None = None
        self._grid = np.zeros((0, 0, 2), np.float32)

    def _grid_for(self, shape: tuple[int, ...]) -> np.ndarray:
        if self._grid.shape[:2] != shape[:2]:
            ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
            self._grid = np.dstack([xs, ys])
        return self._grid

    def flows(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Dense flow a→b and b→a, (H, W, 2) float32 in pixels."""
        gray_a = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY)
        gray_b = cv2.cvtColor(b, cv2.COLOR_RGB2GRAY)
        return self._dis.calc(gray_a, gray_b, None), self._dis.calc(gray_b, gray_a, None)

    def between(
        self, a: np.ndarray, b: np.ndarray, t: float, key: tuple[int, int] | None = None
    ) -> np.ndarray:
        """The frame at fraction `t` (0..1) of the way from `a` to `b`."""
        if key is None or key != self._pair or self._flows is None:
            self._flows = self.flows(a, b)
            self._pair = key
        flow_ab, flow_ba = self._flows
        grid = self._grid_for(a.shape)
        # A pixel at y at time t was at y - t*F_ab(y) in a and is at y - (1-t)*F_ba(y) in b
        # (the flow at y standing in for the flow of the pixel that lands there).
        from_a = cv2.remap(a, grid - t * flow_ab, None, cv2.INTER_LINEAR, cv2.BORDER_REPLICATE)
        from_b = cv2.remap(
            b, grid - (1.0 - t) * flow_ba, None, cv2.INTER_LINEAR, cv2.BORDER_REPLICATE
        )
        return cv2.addWeighted(from_a, 1.0 - t, from_b, t, 0.0)


def positions(source: int, count: int) -> np.ndarray:
    """Where each of `count` output frames falls in the `source` frames (fractional indices)."""
    if source < 1 or count < 1:
        raise ValueError(f"need at least one frame on each side, got {source} -> {count}")
    if count == 1 or source == 1:
        return np.zeros(count)
    return np.linspace(0.0, source - 1, count)


def retime(frames: Sequence[np.ndarray], count: int) -> Iterator[np.ndarray]:
    """Yield exactly `count` frames spread over `frames`, interpolated by optical flow."""
    interpolator = FlowInterpolator()
    for position in positions(len(frames), count):
        low = int(np.floor(position))
        t = float(position - low)
        if t < _EXACT or low + 1 >= len(frames):
            yield frames[min(low, len(frames) - 1)]
        elif t > 1.0 - _EXACT:
            yield frames[low + 1]
        else:
            yield interpolator.between(frames[low], frames[low + 1], t, key=(low, low + 1))


def fit(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """Centre-crop `frame` to the aspect of (width, height), then scale it there (Lanczos)."""
    h, w = frame.shape[:2]
    aspect = width / height
    if abs(w / h - aspect) > 1e-3:
        if w / h > aspect:
            crop = round(h * aspect)
            left = (w - crop) // 2
            frame = frame[:, left : left + crop]
        else:
            crop = round(w / aspect)
            top = (h - crop) // 2
            frame = frame[top : top + crop]
    h, w = frame.shape[:2]
    if (w, h) == (width, height):
        return np.ascontiguousarray(frame)
    interpolation = cv2.INTER_LANCZOS4 if width > w else cv2.INTER_AREA
    return cv2.resize(frame, (width, height), interpolation=interpolation)
