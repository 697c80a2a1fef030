"""Decoding and checking an input image: sniffed type, bounded size, orientation, plain RGB.

Every check that can be made from the bytes or the header is made before any pixel is decoded, so
a decompression bomb costs no more than reading its header.

Example::

    image = load_image(fetch(url, policy, parameter="inputImageFirstUrl"))
    image.array.shape  # (height, width, 3), uint8
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from subject2video.contract import (
    ASPECT_MAX,
    ASPECT_MIN,
    IMAGE_PARAM,
    MAX_IMAGE_BYTES,
    MAX_PIXELS,
    MIN_SHORT_SIDE,
)
from subject2video.errors import ImageError

logger = logging.getLogger(__name__)

_EXPECTED = "expected JPEG, PNG or WebP"
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
#: Magic numbers of common image types that are refused, to say what was sent.
_OTHER_TYPES = (
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"BM", "a BMP image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
)


@dataclass(frozen=True)
class LoadedImage:
    """A checked input image: RGB uint8 pixels with EXIF orientation applied, and its type."""

    array: np.ndarray
    #: "JPEG", "PNG" or "WEBP", from the bytes themselves.
    format: str

    @property
    def width(self) -> int:
        """Width in pixels."""
        return int(self.array.shape[1])

    @property
    def height(self) -> int:
        """Height in pixels."""
        return int(self.array.shape[0])


def sniff_format(data: bytes) -> str | None:
    """The accepted image type named by the magic number at the start of `data`, else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def load_image(data: bytes, *, parameter: str = IMAGE_PARAM) -> LoadedImage:
    """Decode and check an input image; raise ImageError naming `parameter` if it is refused."""
    fmt = _check_bytes(data, parameter)
    with _open(data, fmt, parameter) as image:
        _check_header(image, parameter)
        oriented = _decode(image, parameter)
    _check_shape(oriented.width, oriented.height, parameter)
    return LoadedImage(array=_to_rgb(oriented), format=fmt)


def _error(parameter: str, reason: str) -> ImageError:
    return ImageError(f"Request parameter [{parameter}] {reason}", parameter=parameter)


def _check_bytes(data: bytes, parameter: str) -> str:
    """Refuse empty, oversized or non-image bytes; return the sniffed type."""
    if not data:
        raise _error(parameter, f"is empty ({_EXPECTED})")
    if len(data) > MAX_IMAGE_BYTES:
        raise _error(
            parameter, f"is {len(data)} bytes; at most {MAX_IMAGE_BYTES // (1024 * 1024)} MB"
        )
    fmt = sniff_format(data)
    if fmt is None:
        raise _error(parameter, f"is {_describe(data)} ({_EXPECTED})")
    return fmt


def _describe(data: bytes) -> str:
    for magic, name in _OTHER_TYPES:
        if data.startswith(magic):
            return name
    if len(data) >= 12 and data[4:8] == b"ftyp":
        return "a HEIF/AVIF image"
    return "not an image"


def _open(data: bytes, fmt: str, parameter: str) -> Image.Image:
    """Read the header only (Pillow decodes lazily), with the decoder the magic number named."""
    try:
        image = Image.open(io.BytesIO(data), formats=[fmt])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Raised from the header alone; the warning is an exception where warnings are errors.
        raise _error(parameter, f"is too large: more than {_megapixels(MAX_PIXELS)}") from exc
    except Exception as exc:
        # Pillow reports bad input through many exception types; all mean the same here.
        raise _error(parameter, "is truncated or corrupt") from exc
    # A JPEG with several pictures (MPO, from some cameras) is read as its first picture.
    if image.format != fmt and not (fmt == "JPEG" and image.format == "MPO"):
        image.close()
        raise _error(parameter, f"is not a valid {fmt} image ({_EXPECTED})")
    return image


def _check_header(image: Image.Image, parameter: str) -> None:
    """Refuse too many pixels and animations before any pixel is decoded."""
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise _error(
            parameter,
            f"is too large: {width}x{height} pixels ({width * height / 1e6:.1f} megapixels); "
            f"at most {_megapixels(MAX_PIXELS)}",
        )
    frames = getattr(image, "n_frames", 1)
    if frames > 1 and image.format != "MPO":
        raise _error(parameter, f"is animated ({frames} frames); a still image is required")


def _decode(image: Image.Image, parameter: str) -> Image.Image:
    """Decode the pixels (truncated data is an error, never a partial image) and orient them."""
    try:
        image.load()
    except Exception as exc:
        raise _error(parameter, "is truncated or corrupt") from exc
    try:
        oriented = ImageOps.exif_transpose(image)
    except Exception:
        # Unreadable EXIF does not spoil the pixels: keep them as stored.
        logger.warning("ignoring unreadable EXIF orientation in %s", parameter, exc_info=True)
        return image.copy()
    return oriented if oriented is not None else image.copy()


def _check_shape(width: int, height: int, parameter: str) -> None:
    """Refuse an aspect ratio outside 2:5..5:2, then a short side under MIN_SHORT_SIDE."""
    (lo_w, lo_h), (hi_w, hi_h) = ASPECT_MIN, ASPECT_MAX
    if width * lo_h < lo_w * height or width * hi_h > hi_w * height:
        raise _error(
            parameter,
            f"has an aspect ratio of {width / height:.2f} ({width}x{height} pixels); "
            f"it must be between {lo_w}:{lo_h} and {hi_w}:{hi_h}",
        )
    if min(width, height) < MIN_SHORT_SIDE:
        raise _error(
            parameter,
            f"is too small: {width}x{height} pixels; the short side must be at least "
            f"{MIN_SHORT_SIDE} pixels",
        )


def _to_rgb(image: Image.Image) -> np.ndarray:
    """Plain RGB uint8 pixels: 16-bit scaled down, CMYK and palettes converted, alpha on white."""
    if image.mode.startswith("I"):
        # 16-bit greyscale PNG; Pillow's own conversion would clip instead of scale.
        grey = np.clip(np.asarray(image).astype(np.int32), 0, 65535)
        grey = ((grey + 128) // 257).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        # Through RGBA: converting a palette with transparency straight to RGB loses it (and warns).
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        background.alpha_composite(image.convert("RGBA"))
        image = background
    return np.array(image.convert("RGB"), dtype=np.uint8)


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:g} megapixels"
