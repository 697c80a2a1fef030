"""`s2v eval` measures the subject the engine animated, not dlib's largest face.

The photo: the astronaut beside a smaller Grace Hopper, sized so that the service's detector
(MediaPipe) finds the astronaut's face the larger and dlib finds Hopper's (dlib's boxes come in
coarse steps and run larger on Hopper's face). The engine animates the astronaut; the measurer
must follow her, in the framed close-up and with the photo's own framing.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from subject2video.engines.base import GenerationRequest, NullContext
from subject2video.engines.portrait import PortraitEngine
from subject2video.media.detector import get_detector
from subject2video.media.faces import get_analyzer
from subject2video.media.framing import frame_subject
from subject2video.media.video import output_size
from subject2video.quality import evaluate
from subject2video.quality.subject import expected_boxes
from tests.utils.images import face_rgb, group_rgb, second_face_rgb

PROMPT = "She turns her head to the left"


def pair() -> np.ndarray:
    """The astronaut (600 px) on the left, Grace Hopper (290 px wide) on the right."""
    canvas = np.full((640, 1100, 3), 90, np.uint8)
    canvas[20:620, 20:620] = cv2.resize(face_rgb(), (600, 600), interpolation=cv2.INTER_AREA)
    hopper = cv2.resize(second_face_rgb(), (290, 340), interpolation=cv2.INTER_AREA)
    canvas[150:490, 760:1050] = hopper
    return canvas


def video(photo: np.ndarray, framing: bool) -> list[np.ndarray]:
    """The portrait engine's frames for the service's subject (framed as `prepare` frames it)."""
    face = get_detector().subject(photo)
    width, height = output_size(photo.shape[1], photo.shape[0], 360)
    image = photo
    if framing:
        framed = frame_subject(photo, face, (width, height))
        assert framed.how == "framed"
        image, face = framed.image, framed.face
    request = GenerationRequest(
        image=image, face=face, prompt=PROMPT, seed=3, width=width, height=height, frames=50
    )
    return list(PortraitEngine().frames(request, NullContext()))


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    image = pair()
    # The premise: the two detectors disagree on the largest face.
    assert get_detector().subject(image).center[0] < 550  # the service: the astronaut
    assert get_analyzer().subject(image).center[0] > 550  # dlib: Hopper
    return image


@pytest.mark.parametrize("framing", [True, False], ids=["framed", "photo-framing"])
def test_eval_follows_the_animated_subject(photo: np.ndarray, framing: bool) -> None:
    frames = video(photo, framing)
    report = evaluate(frames, photo, prompt=PROMPT, identity_step=10)
    # The astronaut against her own face in the photo: one person (Hopper's reference against
    # the astronaut's video reads 0.68).
    assert report.identity_mean is not None and report.identity_mean < 0.5, report.identity_mean
    assert [m.found for m in report.motions] == [True], report.motions
    if framing:
        assert report.face_share["least"] >= 0.25


def test_expected_boxes_are_where_the_pipeline_puts_the_face(photo: np.ndarray) -> None:
    face = get_detector().subject(photo)
    size = output_size(photo.shape[1], photo.shape[0], 360)
    kept, framed_box = expected_boxes(photo, face, size)
    scale = size[0] / photo.shape[1]
    assert kept == pytest.approx(tuple(v * scale for v in face.box), abs=1.0)
    framed = frame_subject(photo, face, size)
    enlarge = size[0] / framed.image.shape[1]
    assert framed_box == pytest.approx(tuple(v * enlarge for v in framed.face.box), abs=1.0)


def test_a_detection_that_misses_the_tracked_subject_does_not_hand_it_to_a_bystander() -> None:
    """The subject's face followed through ten frames, then blurred so that dlib's detector misses
    it on its next detection frame while it still finds a bystander's face: the measurer keeps
    following the subject (before, it took the bystander, the largest face left, and measured
    the rest of the video on them: a group photo's laugh and turn read 0.75 there)."""
    from subject2video.quality.track import track

    analyzer = get_analyzer()
    group = group_rgb()
    faces = analyzer.detect(group)
    assert len(faces) >= 2
    subject, bystander = faces[0], faces[1]
    x0, y0, x1, y1 = subject.box
    missed = group.copy()
    missed[y0:y1, x0:x1] = cv2.GaussianBlur(group, (0, 0), 8)[y0:y1, x0:x1]
    assert all(f.box != subject.box for f in analyzer.detect(missed))  # the detector misses her

    tracked = track([group] * 10 + [missed] * 3, analyzer)
    for points in tracked.landmarks[10:]:
        assert points is not None
        centre = points.mean(0)
        assert x0 <= centre[0] <= x1 and y0 <= centre[1] <= y1, (centre, bystander.box)


def test_a_detection_brings_drifted_landmarks_back_to_a_face_nearby() -> None:
    """Landmarks followed frame to frame can drift off the face; the next detection takes a face
    within 1.5 of the subject's widths (as last detected) of them, and none further away."""
    from subject2video.media.subject import Face
    from subject2video.quality.track import _subject

    drifted = np.stack([np.linspace(0, 100, 68), np.full(68, 300.0)], 1)  # 100 px wide, at x 50
    width = 100.0
    near = Face(box=(120, 250, 220, 350))  # 120 px from the landmarks' centre
    far = Face(box=(400, 250, 500, 350))  # 400 px
    assert _subject([near], drifted, held=width) is near
    assert _subject([far], drifted, held=width) is None
    assert _subject([far], drifted) is far  # not followed (lost): the largest face, as before
