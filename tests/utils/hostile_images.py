"""A corpus of hostile images, generated (never stored): each a name and its bytes."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _picture(width: int = 640, height: int = 480, mode: str = "RGB", seed: int = 1) -> Image.Image:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels, "RGB").convert(mode)


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))


def png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of any size, a few KB on disk: rows of zeros compress to nothing."""
    row = b"\x00" * (1 + (width + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(min(height, 4096)))
    data += compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", data)


def _flip(data: bytes, every: int, seed: int) -> bytes:
    """Overwrite one byte in `every`, past the first 64 (the magic survives)."""
    rng = np.random.default_rng(seed)
    buf = bytearray(data)
    for i in range(64, len(buf), every):
        buf[i] = int(rng.integers(0, 256))
    return bytes(buf)


def _animated(fmt: str) -> bytes:
    frames = [_picture(seed=i).convert("P" if fmt == "GIF" else "RGB") for i in range(3)]
    return _encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100)


def _exif_jpeg(orientation: int, width: int = 640, height: int = 360) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _encode(_picture(width, height), "JPEG", exif=exif.tobytes())


def hostile_corpus() -> dict[str, tuple[bytes, bool | None]]:
    """name -> (bytes, must load_image accept it: True, False, or None for either).

    Refusals must be clean one-line ImageErrors. Corrupted lossy data may still decode (to noise):
    that is an answer too, so those entries say None.
    """
    jpeg = _encode(_picture(), "JPEG", quality=90)
    png = _encode(_picture(), "PNG")
    webp = _encode(_picture(), "WEBP")
    corpus: dict[str, tuple[bytes, bool | None]] = {}
    for name, data in (("jpeg", jpeg), ("png", png), ("webp", webp)):
        for cut in (2, 4, 8, 16):
            corpus[f"truncated {name} 1/{cut}"] = (data[: len(data) // cut], False)
        corpus[f"truncated {name} header only"] = (data[:20], False)
    for name, data in (("jpeg", jpeg), ("png", png), ("webp", webp)):
        for seed in range(3):
            corpus[f"corrupted {name} seed {seed}"] = (_flip(data, 97, seed), None)
    corpus["png magic, jpeg body"] = (b"\x89PNG\r\n\x1a\n" + jpeg, False)
    corpus["jpeg magic, png body"] = (b"\xff\xd8\xff" + png, False)
    corpus["webp magic, garbage"] = (b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 64, False)
    corpus["animated gif"] = (_animated("GIF"), False)
    corpus["animated webp"] = (_animated("WEBP"), False)
    corpus["animated png"] = (_animated("PNG"), False)
    corpus["cmyk jpeg"] = (_encode(_picture(mode="CMYK"), "JPEG"), True)
    grey16 = Image.fromarray((np.arange(640 * 480).reshape(480, 640) % 65536).astype(np.uint16))
    corpus["16-bit png"] = (_encode(grey16, "PNG"), True)
    corpus["bomb png 50000x50000"] = (png_bomb(50_000, 50_000), False)
    corpus["bomb png 8000x5001 (just over 40 MP)"] = (png_bomb(8000, 5001), False)
    corpus["bomb png 65535x65535"] = (png_bomb(65535, 65535), False)
    for orientation in range(1, 9):
        corpus[f"exif orientation {orientation}"] = (_exif_jpeg(orientation), True)
    corpus["exif orientation 99 (invalid)"] = (_exif_jpeg(99), True)
    corpus["zero bytes"] = (b"", False)
    corpus["text file"] = (b"hello, I am a text file named face.jpg\n", False)
    corpus["svg"] = (
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="900" '
        b'height="900"><script>alert(1)</script></svg>',
        False,
    )
    corpus["html polyglot carrying a png"] = (b"<html><!--" + png + b"-->", False)
    corpus["jpeg with a zip appended (polyglot)"] = (jpeg + b"PK\x03\x04" + b"\x00" * 64, True)
    corpus["gif named .jpg"] = (_encode(_picture().convert("P"), "GIF"), False)
    corpus["bmp"] = (_encode(_picture(), "BMP"), False)
    corpus["tiny 10x10 png"] = (_encode(_picture(10, 10), "PNG"), False)
    corpus["thin 2000x300 png"] = (_encode(_picture(2000, 300), "PNG"), False)
    return corpus
