"""The `framing` input through the service's preparation (tasks.pipeline.prepare): `photo` keeps a
wide photo's framing, the default frames the subject, and the request wins over S2V_FRAMING; a
push-in named in the prompt starts on the wide view and ends on the framed close-up."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from subject2video.contract import IMAGE_PARAM, parse_run
from subject2video.engines.base import NullContext
from subject2video.engines.portrait import PortraitEngine
from subject2video.media.detector import get_detector
from subject2video.media.framing import FRAMED_SHARE, PUSHED_SHARE
from subject2video.media.images import LoadedImage
from subject2video.tasks.pipeline import prepare
from tests.utils.images import wide_shot_rgb

URL = {IMAGE_PARAM: "https://example.com/wide.jpg"}


@pytest.fixture(scope="module")
def wide() -> LoadedImage:
    return LoadedImage(wide_shot_rgb(0.4), "JPEG")


def _share(image: LoadedImage, fields: dict[str, str], setting: str) -> tuple[float, str | None]:
    """The face's share of the frame height in what the engine is given, and the framing line."""
    run = parse_run({**URL, **fields})
    prepared = prepare(image, run, get_detector(), seed=1, engine="portrait", framing=setting)
    request = prepared.request
    return request.face.height / request.image.shape[0], prepared.framing


def test_framing_photo_keeps_the_wide_photo_and_the_default_frames_the_subject(
    wide: LoadedImage,
) -> None:
    face = get_detector().subject(wide.array)
    photo_share = face.height / wide.height
    assert photo_share < 0.1  # a wide shot: the face is small in the photo

    kept, kept_line = _share(wide, {"framing": "photo"}, "subject")
    assert kept == pytest.approx(photo_share, abs=0.005)
    assert kept_line is None  # nothing was done to the photo's framing

    framed, framed_line = _share(wide, {}, "subject")
    assert framed == pytest.approx(FRAMED_SHARE, abs=0.02) and framed >= 0.25
    assert framed_line and "medium close-up" in framed_line

    # The request's value wins over the server's setting, both ways.
    assert _share(wide, {"framing": "subject"}, "photo")[0] == pytest.approx(framed, abs=0.005)
    assert _share(wide, {}, "photo")[0] == pytest.approx(photo_share, abs=0.005)


def test_a_named_push_in_starts_on_the_wide_view_and_ends_on_the_close_up(
    wide: LoadedImage,
) -> None:
    """Framing on and `[Push in]` in the prompt: the first frame is the photo's wide view (the face
    small), the last the framed medium close-up (the face at least a quarter of the height)."""
    run = parse_run({**URL, "prompt": "She smiles [Push in]"})
    prepared = prepare(wide, run, get_detector(), seed=3, engine="portrait", framing="subject")
    request = replace(prepared.request, frames=30)
    assert request.close_up is not None and request.image is wide.array
    assert prepared.framing and "pushes in to a medium close-up" in prepared.framing
    # The push ends with the face at PUSHED_SHARE of the close-up (FRAMED_SHARE would enlarge a
    # portrait past the renderer's bicubic threshold, at twice the render's cost).
    assert request.face.height / request.close_up[3] == pytest.approx(PUSHED_SHARE, abs=0.01)
    frames = list(PortraitEngine().frames(request, NullContext()))
    detector = get_detector()
    first = detector.subject(frames[0]).height / request.height
    last = detector.subject(frames[-1]).height / request.height
    assert first < 0.12, first  # the wide view: the face about 9% of the height, as in the photo
    assert last >= 0.25, last  # the close-up
    # Without a camera move named, the framing holds still: the framed crop from the first frame.
    still = prepare(wide, parse_run({**URL, "prompt": "She smiles"}), detector, seed=3,
                    engine="portrait", framing="subject")  # fmt: skip
    assert still.request.close_up is None and still.request.image.shape[0] < wide.height


def _fine_detail(frame: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """Mean absolute difference of the face's grey levels from a blur of them: fine detail."""
    x0, y0, x1, y1 = box
    grey = cv2.cvtColor(frame[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.abs(grey - cv2.GaussianBlur(grey, (0, 0), 1.5)).mean())


def test_a_push_to_the_close_up_keeps_most_of_the_still_framings_detail(
    wide: LoadedImage,
) -> None:
    """A push ends on the close-up that the still framing shows, the camera enlarging the photo at
    output size 3.4x: resampled bilinearly, the face kept 77% of the still framing's fine detail
    (71% when the frame was resampled twice), bicubically (`render.CUBIC_ZOOM`) 96%."""
    detector = get_detector()

    def last_frame(prompt: str) -> np.ndarray:
        run = parse_run({**URL, "prompt": prompt})
        prepared = prepare(wide, run, detector, seed=3, engine="portrait", framing="subject")
        request = replace(prepared.request, frames=25)
        return list(PortraitEngine().frames(request, NullContext()))[-1]

    still = last_frame("perfectly still, without blinking")
    pushed = last_frame("[Push in] perfectly still, without blinking")
    box = detector.subject(still).box
    ratio = _fine_detail(pushed, box) / _fine_detail(still, box)
    assert ratio > 0.85, ratio
