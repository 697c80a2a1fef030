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
