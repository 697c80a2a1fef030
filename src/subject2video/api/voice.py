"""A voice recording given as a file (a multipart part, a data URI, a stored file), checked at
the door: the same decoding and limits as the worker applies (media/audio.py: at most 12 s and
the image byte limit, 8-96 kHz, not silent, not truncated, audio at all), each refusal naming the
input as the caller's dialect spells it. The task then keeps the file beside its image."""

from __future__ import annotations

from subject2video.api.datauri import decode_data_uri
from subject2video.errors import InputError
from subject2video.media.audio import MAX_AUDIO_BYTES, load_audio
from subject2video.tasks.service import Upload


def audio_upload(data: bytes, filename: str | None, parameter: str) -> Upload:
    """An uploaded voice, checked now; InputError (4xx) naming `parameter` when it is wrong."""
    if not data:
        raise InputError(f"{parameter} is an empty file", parameter=parameter)
    if len(data) > MAX_AUDIO_BYTES:
        raise InputError(
            f"{parameter} is {len(data)} bytes; at most {MAX_AUDIO_BYTES // (1024 * 1024)} MB",
            parameter=parameter,
        )
    load_audio(data, parameter=parameter)
    return Upload(filename=filename or "voice", data=data)


def audio_data_uri(text: str, parameter: str) -> Upload:
    """A `data:audio/<type>;base64,<data>` URI (any type: the bytes are sniffed), checked."""
    return audio_upload(decode_data_uri(text, parameter), parameter, parameter)
