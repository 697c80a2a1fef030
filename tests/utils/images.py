"""Test pictures from scikit-image's public-domain data: a real human face, a cat without one."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from skimage import data


def face_rgb() -> np.ndarray:
    """NASA's portrait of astronaut Eileen Collins: one frontal human face, 512x512 RGB uint8."""
    return np.ascontiguousarray(data.astronaut())


def second_face_rgb() -> np.ndarray:
    """Grace Hopper (US Navy photo, public domain), as Matplotlib ships it: 512x600 RGB uint8.

    A second, different person (dlib descriptor distance 0.70 from the astronaut); scikit-image
    has no other human face.
    """
    from matplotlib import cbook

    path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    return np.asarray(Image.open(path).convert("RGB"))


def cat_rgb(short_side: int = 360) -> np.ndarray:
    """Chelsea the cat, enlarged so its short side is `short_side`: a valid picture with no face."""
    image = Image.fromarray(data.chelsea())
    scale = max(1.0, short_side / min(image.size))
    size = (round(image.width * scale), round(image.height * scale))
    return np.asarray(image.resize(size, Image.Resampling.LANCZOS))


def jpeg_bytes(image: np.ndarray, quality: int = 92) -> bytes:
    """Encode an RGB array as JPEG."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def face_jpeg(quality: int = 92, size: tuple[int, int] | None = None) -> bytes:
    """The astronaut as JPEG bytes, optionally resized to `size` (width, height)."""
    image = face_rgb()
    if size is not None:
        image = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))
    return jpeg_bytes(image, quality)


def cat_jpeg(quality: int = 92) -> bytes:
    """The cat as JPEG bytes (541x360): no human face, nothing else wrong with it."""
    return jpeg_bytes(cat_rgb(), quality)


def wide_shot_rgb(scale: float = 1.0) -> np.ndarray:
    """The astronaut small in a wide 4:3 shot (her photo enlarged 1.6x, set at the lower right of a
    2400x1800 frame of its own blurred colours), resized by `scale` with area averaging. At 1.0
    her face is about 170 px tall; at 0.4 (the issue's "wide shot scaled to 40%"), about 68 px."""
    import cv2

    astronaut = data.astronaut()
    canvas = cv2.resize(cv2.GaussianBlur(astronaut, (0, 0), 25), (2400, 1800))
    big = cv2.resize(astronaut, (820, 820), interpolation=cv2.INTER_CUBIC)
    canvas[900:1720, 1350:2170] = big
    if scale != 1.0:
        size = (round(2400 * scale), round(1800 * scale))
        canvas = cv2.resize(canvas, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(canvas)


def group_rgb() -> np.ndarray:
    """Five faces in one 1600x900 frame: the astronaut large in the middle, four smaller copies of
    her and Grace Hopper around her (a made-up group shot)."""
    import cv2

    canvas = np.full((900, 1600, 3), 90, np.uint8)
    astronaut, hopper = data.astronaut(), second_face_rgb()
    canvas[250:850, 500:1100] = cv2.resize(astronaut, (600, 600), interpolation=cv2.INTER_CUBIC)
    for (x, y), photo in zip(
        [(40, 100), (1200, 80), (60, 520), (1250, 500)],
        [hopper, astronaut, astronaut, hopper],
        strict=True,
    ):
        h, w = photo.shape[:2]
        small = cv2.resize(photo, (300, round(300 * h / w)), interpolation=cv2.INTER_AREA)
        canvas[y : y + small.shape[0], x : x + 300] = small
    return canvas
