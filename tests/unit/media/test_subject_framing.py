"""Subject framing: a face small in the photo becomes a medium close-up from the photo's pixels,
and in the video the face is at least a quarter of the frame height in every frame."""

from __future__ import annotations

import numpy as np

from subject2video.engines.base import GenerationRequest, NullContext
from subject2video.engines.portrait import PortraitEngine
from subject2video.media.detector import get_detector
from subject2video.media.faces import get_analyzer
from subject2video.media.framing import FRAMED_SHARE, frame_subject
from subject2video.media.subject import Face
from subject2video.media.video import output_size
from subject2video.quality.subject import FaceShareMeter
from tests.utils.images import face_rgb, wide_shot_rgb


def test_a_large_face_keeps_the_photo() -> None:
    image = face_rgb()
    face = Face(box=(172, 56, 278, 216))  # 160 px: 31% of the frame height
    framed = frame_subject(image, face, (720, 720))
    assert framed.how == "kept" and framed.image is image and framed.face == face


def test_a_small_face_is_framed_from_the_photo_s_own_pixels() -> None:
    image = wide_shot_rgb(0.4)
    face = get_detector().subject(image)
    width, height = output_size(image.shape[1], image.shape[0])
    framed = frame_subject(image, face, (width, height))
    assert framed.how == "framed"
    ch, cw = framed.image.shape[:2]
    assert abs(cw / ch - width / height) < 0.02  # the output's aspect
    assert abs(framed.face.height / ch - FRAMED_SHARE) < 0.02
    # The crop is the photo's pixels, unscaled: the face is where the photo has it, moved.
    x0, y0, x1, y1 = framed.face.box
    dx, dy = face.box[0] - x0, face.box[1] - y0
    assert np.array_equal(framed.image[y0:y1, x0:x1], image[y0 + dy : y1 + dy, x0 + dx : x1 + dx])
    assert "medium close-up" in framed.note and "S2V_FRAMING=photo" in framed.note


def test_in_the_framed_video_the_face_is_a_quarter_of_every_frame() -> None:
    image = wide_shot_rgb(0.4)
    face = get_detector().subject(image)
    width, height = output_size(image.shape[1], image.shape[0], 360)
    framed = frame_subject(image, face, (width, height))
    request = GenerationRequest(
        image=framed.image, face=framed.face, prompt="She nods and turns her head to the left",
        seed=2, width=width, height=height, frames=40,
    )  # fmt: skip
    meter = FaceShareMeter()
    analyzer = get_analyzer()
    for frame in PortraitEngine().frames(request, NullContext()):
        found = analyzer.subject(frame)
        meter.add(frame, found.landmarks)
    result = meter.result()
    assert result["frames"] == 40
    assert result["least"] >= 0.25, result
