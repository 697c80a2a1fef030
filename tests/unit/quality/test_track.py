"""The tracked box follows the head, not the jaw."""

from __future__ import annotations

import numpy as np

from subject2video.media.faces import get_analyzer
from subject2video.quality.track import (
    DETECT_EVERY,
    SPEECH_DETECT_EVERY,
    _box_from,
    _offsets,
    track,
)
from tests.utils.images import face_rgb


def test_the_tracked_box_is_the_detectors_and_ignores_the_jaw_and_lips() -> None:
    """Placed from the rigid landmarks, the box is the detector's own on the frame it detected,
    and stays where it is when the mouth opens (the jaw and lips move down): a box that grew
    with the opening read the next frame's closed lips as parted."""
    face = get_analyzer().detect(face_rgb())[0]
    assert face.landmarks is not None
    offsets = _offsets(face.landmarks, face.box)
    assert _box_from(face.landmarks, offsets) == face.box
    opened = face.landmarks.copy()
    opened[list(range(0, 17)) + list(range(48, 68)), 1] += 25.0
    assert _box_from(opened, offsets) == face.box
    moved = face.landmarks + np.array([7.0, -4.0], np.float32)
    x0, y0, x1, y1 = face.box
    assert _box_from(moved, offsets) == (x0 + 7, y0 - 4, x1 + 7, y1 - 4)


def test_a_still_face_is_tracked_as_the_detector_reads_it() -> None:
    image = face_rgb()
    analyzer = get_analyzer()
    detected = analyzer.detect(image)[0].landmarks
    tracked = track([image] * 3, analyzer)
    for points in tracked.landmarks:
        assert points is not None
        assert np.abs(points - detected).max() <= 1.0


def test_speech_measures_detect_on_every_frame() -> None:
    """A speaking video's lips are read from the detector's own box on each frame."""

    class Counting:
        def __init__(self) -> None:
            self.inner, self.detections = get_analyzer(), 0

        def detect(self, image: np.ndarray) -> list:
            self.detections += 1
            return self.inner.detect(image)

        def landmarks(self, image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
            return self.inner.landmarks(image, box)

    image = face_rgb()
    for every, expected in ((DETECT_EVERY, 2), (SPEECH_DETECT_EVERY, 12)):
        counting = Counting()
        track([image] * 12, counting, detect_every=every)  # type: ignore[arg-type]
        assert counting.detections == expected
