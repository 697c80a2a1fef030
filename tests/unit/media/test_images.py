"""Unit tests for subject2video.media.images: every image is generated here with Pillow/numpy."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from subject2video.errors import ImageError
from subject2video.media.images import (
    MAX_PIXELS,
    LoadedImage,
    load_image,
    sniff_format,
)


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def gradient(width: int = 640, height: int = 480) -> Image.Image:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels, "RGB")


def png_header_only(width: int, height: int) -> bytes:
    """A valid 1-bit greyscale PNG of any size, kept tiny on disk by compressing zero rows."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(row) for _ in range(height)]
    parts.append(compressor.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", b"".join(parts))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if any pixel data is decoded."""

    def refuse(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


def refusal(data: bytes, parameter: str = "inputImageFirstUrl") -> str:
    with pytest.raises(ImageError) as info:
        load_image(data, parameter=parameter)
    assert info.value.parameter == parameter
    assert f"Request parameter [{parameter}]" in info.value.message
    return info.value.message


@pytest.mark.parametrize(("fmt", "options"), [("JPEG", {"quality": 90}), ("PNG", {}), ("WEBP", {})])
def test_accepted_types_decode_to_rgb(fmt: str, options: dict[str, object]) -> None:
    source = gradient(640, 480)
    image = load_image(encode(source, fmt, **options))
    assert isinstance(image, LoadedImage)
    assert image.format == fmt
    assert (image.width, image.height) == (640, 480)
    assert image.array.shape == (480, 640, 3)
    assert image.array.dtype == np.uint8
    if fmt == "PNG":
        assert np.array_equal(image.array, np.asarray(source))


def test_sniffing_ignores_names_and_reads_magic_numbers() -> None:
    assert sniff_format(encode(gradient(), "PNG")) == "PNG"
    assert sniff_format(encode(gradient(), "JPEG")) == "JPEG"
    assert sniff_format(encode(gradient(), "WEBP")) == "WEBP"
    assert sniff_format(b"<svg xmlns='http://www.w3.org/2000/svg'/>") is None


@pytest.mark.parametrize(
    "data",
    [
        b"hello, this is plain text and not an image at all",
        b"<!doctype html><html><body><img src=x></body></html>",
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="900" height="900"/>',
        b"\x00" * 1024,
    ],
    ids=["text", "html", "svg", "zeros"],
)
def test_non_images_are_refused(data: bytes) -> None:
    message = refusal(data)
    assert "is not an image (expected JPEG, PNG or WebP)" in message


def test_zero_bytes_are_refused() -> None:
    assert "is empty" in refusal(b"")


def test_gif_is_refused_by_name() -> None:
    message = refusal(encode(gradient().convert("P"), "GIF"), parameter="inputImageFirst")
    assert message == (
        "Request parameter [inputImageFirst] is a GIF image (expected JPEG, PNG or WebP)"
    )


def test_polyglot_with_wrong_leading_magic_is_refused() -> None:
    # An HTML page that carries a PNG further on is still HTML.
    assert "not an image" in refusal(b"<html><!--" + encode(gradient(), "PNG"))


def test_mismatched_magic_and_content_is_corrupt() -> None:
    # PNG magic followed by JPEG data: the PNG decoder must not accept it.
    data = b"\x89PNG\r\n\x1a\n" + encode(gradient(), "JPEG")
    assert "truncated or corrupt" in refusal(data)


def test_truncated_jpeg_is_refused_not_partially_decoded() -> None:
    data = encode(gradient(800, 600), "JPEG", quality=95)
    assert "is truncated or corrupt" in refusal(data[: len(data) // 2])


def test_truncated_png_is_refused() -> None:
    data = encode(gradient(800, 600), "PNG")
    assert "is truncated or corrupt" in refusal(data[: len(data) * 2 // 3])


def test_oversized_bytes_are_refused() -> None:
    assert "at most 20 MB" in refusal(b"\xff\xd8\xff" + b"\x00" * (20 * 1024 * 1024))


def test_decompression_bomb_refused_from_header(no_decoding: None) -> None:
    data = png_header_only(20_000, 20_000)
    assert len(data) < 200_000
    message = refusal(data)
    assert "is too large" in message
    assert "40 megapixels" in message


@pytest.mark.parametrize("side", [7_000, 10_000], ids=["over-ours", "pillow-warning-range"])
def test_too_many_pixels_refused_without_decoding(side: int, no_decoding: None) -> None:
    assert side * side > MAX_PIXELS
    message = refusal(png_header_only(side, side))
    assert "is too large" in message
    assert "40 megapixels" in message
    if side == 7_000:
        assert "7000x7000 pixels (49.0 megapixels)" in message


def test_short_side_too_small() -> None:
    message = refusal(encode(gradient(200, 200), "PNG"))
    assert "200x200 pixels" in message
    assert "at least 300 pixels" in message


def test_aspect_ratio_out_of_range() -> None:
    message = refusal(encode(gradient(1600, 300), "PNG"))
    assert "aspect ratio of 5.33 (1600x300 pixels)" in message
    assert "between 2:5 and 5:2" in message


def test_aspect_checked_before_short_side() -> None:
    message = refusal(encode(gradient(1000, 200), "PNG"))
    assert "aspect ratio of 5.00 (1000x200 pixels)" in message


def test_aspect_limits_are_inclusive() -> None:
    assert load_image(encode(gradient(750, 300), "PNG")).width == 750
    assert load_image(encode(gradient(300, 750), "PNG")).height == 750


def test_exif_orientation_is_applied() -> None:
    source = gradient(600, 400)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    image = load_image(encode(source, "JPEG", exif=exif.tobytes(), quality=95))
    assert (image.width, image.height) == (400, 600)


def test_exif_orientation_is_applied_before_shape_checks() -> None:
    # Stored 760x300 (fine); displayed 300x760, whose aspect 0.39 is below 2:5.
    exif = Image.Exif()
    exif[0x0112] = 8
    assert "aspect ratio" in refusal(encode(gradient(760, 300), "JPEG", exif=exif.tobytes()))


def test_cmyk_jpeg_becomes_rgb() -> None:
    source = Image.new("CMYK", (400, 400), (0, 255, 255, 0))  # pure red in ink
    image = load_image(encode(source, "JPEG", quality=95))
    red, green, blue = image.array[200, 200].tolist()
    assert image.array.shape == (400, 400, 3)
    assert red > 200 and green < 60 and blue < 60


def test_sixteen_bit_png_is_scaled_to_eight_bits() -> None:
    source = Image.fromarray(np.full((400, 500), 40_000, dtype=np.uint16))
    data = encode(source, "PNG")
    with Image.open(io.BytesIO(data)) as check:
        assert check.mode.startswith("I")
    image = load_image(data)
    assert image.array.shape == (400, 500, 3)
    assert image.array.dtype == np.uint8
    assert np.all(image.array == 156)  # 40000 / 257, rounded


def test_rgba_png_is_composited_over_white() -> None:
    pixels = np.zeros((400, 400, 4), dtype=np.uint8)
    pixels[:, :200] = (255, 0, 0, 255)  # opaque red
    pixels[:, 200:] = (0, 0, 255, 0)  # fully transparent blue
    image = load_image(encode(Image.fromarray(pixels, "RGBA"), "PNG"))
    assert image.array[10, 10].tolist() == [255, 0, 0]
    assert image.array[10, 300].tolist() == [255, 255, 255]


@pytest.mark.parametrize("mode", ["L", "LA", "1"])
def test_grey_modes_become_rgb(mode: str) -> None:
    image = load_image(encode(gradient(400, 400).convert(mode), "PNG"))
    assert image.array.shape == (400, 400, 3)


def test_palette_png_with_transparency_becomes_rgb() -> None:
    source = gradient(400, 400).convert("P")
    data = encode(source, "PNG", transparency=0)
    image = load_image(data)
    assert image.array.shape == (400, 400, 3)


def test_animated_webp_is_refused() -> None:
    frames = [Image.new("RGB", (400, 400), color) for color in ("red", "green", "blue")]
    data = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100)
    assert "is animated (3 frames)" in refusal(data)


def test_animated_png_is_refused() -> None:
    frames = [Image.new("RGB", (400, 400), color) for color in ("red", "green")]
    data = encode(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100)
    assert "is animated (2 frames)" in refusal(data)
