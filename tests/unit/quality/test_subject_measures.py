"""The matte-halo and face-share measures, on videos made from the astronaut whose answer is known:
a still video, one with flicker just outside her edge (a halo), one with flicker far from her."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from subject2video.engines.portrait.segment import person_matte
from subject2video.media.faces import get_analyzer
from subject2video.quality.subject import FaceShareMeter, HaloMeter
from tests.utils.images import face_rgb


@pytest.fixture(scope="module")
def still() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The photo, its 68 landmarks, and a ring 4-14 px outside her silhouette (bool)."""
    image = face_rgb()
    face = get_analyzer().subject(image)
    assert face.landmarks is not None
    subject = (person_matte(image, face.box) > 0.5).astype(np.uint8)
    outside = cv2.distanceTransform(1 - subject, cv2.DIST_L2, 3)
    return image, face.landmarks, (outside > 4) & (outside <= 14)


def measured(frames: list[np.ndarray], points: np.ndarray) -> dict:
    meter = HaloMeter(step=2)
    for frame in frames:
        meter.add(frame, points)
    return meter.result()


def flicker(image: np.ndarray, where: np.ndarray, count: int = 9) -> list[np.ndarray]:
    """`count` frames of `image`, the pixels in `where` brightened by 30 on every other frame."""
    frames = []
    for index in range(count):
        frame = image.astype(np.int16)
        if index % 2:
            frame[where] += 30
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
    return frames


def test_a_still_video_has_no_halo(still) -> None:
    image, points, _ = still
    result = measured([image] * 7, points)
    assert result["pairs"] == 3
    assert result["band"] == 0 and result["far"] == 0 and result["excess"] == 0


def test_flicker_just_outside_the_edge_is_a_halo(still) -> None:
    image, points, ring = still
    result = measured(flicker(image, ring), points)
    assert result["excess"] > 5 and result["head_excess"] > 5
    assert result["far"] < 0.5


def test_flicker_far_from_the_subject_is_not_a_halo(still) -> None:
    image, points, _ = still
    corner = np.zeros(image.shape[:2], bool)
    corner[:120, :120] = True  # the top left corner: wall and flag, far from her
    result = measured(flicker(image, corner), points)
    assert result["far"] > 1
    assert result["excess"] < 0.5


def test_face_share_follows_the_frame_height(still) -> None:
    image, points, _ = still
    meter = FaceShareMeter()
    meter.add(image, points)
    tall = np.zeros((1024, 512, 3), np.uint8)
    meter.add(tall, points)
    result = meter.result()
    assert result["frames"] == 2
    # Her face (hairline to chin) is about a quarter of the 512 px portrait.
    assert 0.2 < result["mean"] * 4 / 3 < 0.3
    assert result["least"] == pytest.approx(result["mean"] * 2 / 3, rel=0.01)
