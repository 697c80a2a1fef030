"""Hostile images through the decoder: each is refused with a clear one-line reason, or accepted."""

from __future__ import annotations

import pytest

from subject2video.errors import ImageError
from subject2video.media.images import load_image
from tests.utils.figures import record
from tests.utils.hostile_images import hostile_corpus

CORPUS = hostile_corpus()


def _outcome(data: bytes, acceptable: bool | None) -> str:
    """'' when handled as it must be, else what went wrong."""
    try:
        image = load_image(data, parameter="inputImageFirst")
    except ImageError as exc:
        clean = exc.message.startswith("Request parameter [inputImageFirst] ")
        if acceptable is True or not clean or "\n" in exc.message:
            return f"refused: {exc.message}"
        return ""
    except Exception as exc:  # anything else would reach the worker as a crash
        return f"{type(exc).__name__}: {exc}"
    if acceptable is False:
        return "accepted"
    return "" if image.array.ndim == 3 and image.array.shape[2] == 3 else "not RGB"


def test_every_hostile_image_is_refused_cleanly_or_decoded() -> None:
    wrong = {name: why for name, (data, ok) in CORPUS.items() if (why := _outcome(data, ok))}
    record(
        "hostile images (decoder)",
        tried=len(CORPUS),
        handled=len(CORPUS) - len(wrong),
        got_through=len(wrong),
    )
    assert not wrong


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientations_give_the_upright_size(orientation: int) -> None:
    image = load_image(CORPUS[f"exif orientation {orientation}"][0])
    expected = (640, 360) if orientation < 5 else (360, 640)
    assert (image.width, image.height) == expected
