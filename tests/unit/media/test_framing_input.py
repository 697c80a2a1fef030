"""The `framing` input through the service's preparation (tasks.pipeline.prepare): `photo` keeps a
wide photo's framing, the default frames the subject, and the request wins over S2V_FRAMING."""

from __future__ import annotations

import pytest

from subject2video.contract import IMAGE_PARAM, parse_run
from subject2video.media.detector import get_detector
from subject2video.media.framing import FRAMED_SHARE
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
