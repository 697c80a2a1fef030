"""The subject of a photo: one detected face, as the detector finds it and engines consume it.

It lives in `media/` (below `engines/`) because the detector makes it; `engines.base` re-exports it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Face:
    """One detected face, in the pixel coordinates of the image it was found in."""

    #: (left, top, right, bottom), right and bottom exclusive.
    box: tuple[int, int, int, int]
    #: dlib's 68 landmarks as a (68, 2) float array, when computed.
    landmarks: np.ndarray | None = None
    #: Detector confidence where the detector gives one.
    score: float = 0.0

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]

    @property
    def area(self) -> int:
        return max(0, self.width) * max(0, self.height)

    @property
    def center(self) -> tuple[float, float]:
        return ((self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2)
