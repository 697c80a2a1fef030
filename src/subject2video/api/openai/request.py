"""The OpenAI dialect's create request: its body (multipart or JSON), photo, model, length, size.

`input_reference` is a multipart upload, a multipart field `input_reference[image_url]`, or JSON
`{"image_url": "https://…"}` (or a base64 data URL, taken as an upload). The photo is required:
this server animates the person in it.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import replace
from typing import Any

from fastapi import Request

from subject2video.api.body import form_items, read_body
from subject2video.api.datauri import data_uri, image_suffix, is_data_uri
from subject2video.api.deps import Services
from subject2video.api.openai.wire import BASE_MODEL, DEFAULT_SECONDS, IMAGE, OpenAIError
from subject2video.api.voice import audio_data_uri, audio_upload
from subject2video.contract import (
    AUDIO,
    FRAMING,
    IMAGE_PARAM,
    OPENAI,
    VOICE,
    RunInput,
    check_fields,
    load_json,
    parse_run,
    parse_seconds,
    parse_size,
)
from subject2video.errors import InputError
from subject2video.media.images import load_image
from subject2video.tasks.service import Upload

#: Extensions (README "Speech"): a voice recording by URL or data URL, or as a multipart file.
AUDIO_URL = AUDIO.called(OPENAI)
AUDIO_PART = "audio"


def served_models(services: Services) -> list[str]:
    engine = services.settings.engine
    extra = [f"s2v-{engine}"] if re.fullmatch(r"[a-z0-9-]{1,40}", engine) else []
    return [BASE_MODEL, *extra]


async def create_fields(request: Request, limit: int) -> tuple[dict[str, Any], Upload | None]:
    """The fields of a create request (multipart or JSON) and its uploaded photo, if any."""
    raw = await read_body(request, limit)
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith("multipart/form-data"):
        return await _multipart(request, limit)
    try:
        data = load_json(raw) if raw.strip() else {}  # also refuses JSON nested too deep
    except InputError as exc:
        raise OpenAIError(400, exc.message, code="invalid_json") from None
    if not isinstance(data, dict):
        raise OpenAIError(400, "The body must be a JSON object.", code="invalid_json")
    # Valid Unicode, bounded text, in every field (the door's rules); a voice as a data URL is
    # bounded by the body's limit and decoded by `voice_of`.
    check_fields({k: v for k, v in data.items() if not (k == AUDIO_URL and _inline(v))})
    return data, None


async def _multipart(request: Request, limit: int) -> tuple[dict[str, Any], Upload | None]:
    fields: dict[str, Any] = {}
    upload: Upload | None = None
    audio: Upload | None = None
    for name, value in await form_items(request, limit, max_files=3, max_fields=50):
        if isinstance(value, Upload):
            if name == IMAGE:
                upload = Upload(filename=value.filename or IMAGE, data=value.data)
            elif name == AUDIO_PART:
                audio = Upload(filename=value.filename or AUDIO_PART, data=value.data)
        elif name == f"{IMAGE}[image_url]":
            fields[IMAGE] = {"image_url": value}
        else:
            fields[name] = value
    check_fields(fields)
    if audio is not None:
        fields[AUDIO_PART] = audio  # checked by `voice_of`
    return fields, upload


def _inline(value: Any) -> bool:
    return isinstance(value, str) and is_data_uri(value.strip())


def voice_of(fields: dict[str, Any]) -> Upload | None:
    """The extension's uploaded voice: a multipart file part `audio`, or `audio_url` given as a
    base64 data URL; checked now (api/voice.py), errors naming the part or field."""
    part = fields.get(AUDIO_PART)
    if isinstance(part, Upload):
        return audio_upload(part.data, part.filename, AUDIO_PART)
    url = fields.get(AUDIO_URL)
    if isinstance(url, str) and is_data_uri(url.strip()):
        return audio_data_uri(url.strip(), AUDIO_URL)
    return None


def _reference(fields: dict[str, Any], upload: Upload | None) -> tuple[str | None, Upload | None]:
    """The photo: an upload, or an image URL (a data URL becomes an upload)."""
    if upload is not None:
        return None, upload
    ref = fields.get(IMAGE)
    if isinstance(ref, str) and ref.strip().startswith("{"):
        with contextlib.suppress(InputError):
            ref = load_json(ref)
    url = ref.get("image_url") if isinstance(ref, dict) else ref
    if isinstance(ref, dict) and ref.get("file_id") and not url:
        raise InputError(
            f"{IMAGE}.file_id is not served here; send the photo as an upload or an image_url",
            parameter=IMAGE,
        )
    if not isinstance(url, str) or not url.strip():
        raise InputError(
            f"{IMAGE} is required: this server animates the person in a photo; send it as a "
            'multipart upload, or as {"image_url": "https://..."} or a data URL',
            parameter=IMAGE,
        )
    url = url.strip()
    if not url.lower().startswith("data:"):
        return url, None
    data = data_uri(url, IMAGE, noun="data URL")
    return None, Upload(filename=f"{IMAGE}.{image_suffix(data)}", data=data)


def check_model(services: Services, model: Any) -> str:
    served = served_models(services)
    if model is None or model == "":
        return BASE_MODEL
    if not isinstance(model, str) or model.strip() not in served:
        raise OpenAIError(
            400,
            f"The model '{str(model)[:80]}' is not served here. Served models: "
            f"{', '.join(served)} (GET /v1/models lists them).",
            param="model",
            code="model_not_found",
        )
    return model.strip()


def parse_create(
    services: Services, fields: dict[str, Any], upload: Upload | None
) -> tuple[RunInput, Upload | None]:
    """Check a create request; the run (with its length, size and model) and the photo."""
    model = check_model(services, fields.get("model"))
    prompt = fields.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise InputError("prompt must be a string", parameter="prompt")
    seconds = fields.get("seconds")
    length = DEFAULT_SECONDS if seconds in (None, "") else parse_seconds(seconds, "seconds")
    size = fields.get("size")
    wanted = None if size in (None, "", "auto") else parse_size(size, "size")
    url, photo = _reference(fields, upload)
    if url is not None:
        services.tasks.check_url(url, IMAGE)
    run_fields = {"prompt": prompt or None, IMAGE_PARAM: url}
    if "seed" in fields:
        run_fields["seed"] = fields["seed"]
    # Extensions (README): the voice of a quoted line, the framing, and a voice recording for the
    # lips (`audio_url` as a data URL, or a file part `audio`, is an upload: `voice_of`).
    extensions = ((VOICE.name, VOICE.called(OPENAI)), (FRAMING.name, FRAMING.called(OPENAI)))
    for ours, theirs in (*extensions, (AUDIO.name, AUDIO_URL)):
        value = fields.get(theirs)
        if value not in (None, "") and not (isinstance(value, str) and is_data_uri(value)):
            run_fields[ours] = value
    size_of = len(photo.data) if photo is not None else None
    try:
        run = parse_run(run_fields, upload_size=size_of, check_url=services.tasks.check_url)
    except InputError as exc:
        if exc.parameter != AUDIO.name:
            raise
        raise InputError(exc.message.replace(AUDIO.name, AUDIO_URL), parameter=AUDIO_URL) from None
    if run.audio_url or isinstance(fields.get(AUDIO_PART), Upload) or AUDIO_URL in fields:
        audio_name = AUDIO_PART if isinstance(fields.get(AUDIO_PART), Upload) else AUDIO_URL
        run = replace(run, audio_parameter=audio_name)  # the worker's errors name it so
    if photo is not None:
        load_image(photo.data, parameter=IMAGE)  # a wrong type or shape is refused at the door
    follow = seconds in (None, "")  # no length asked: a spoken video lasts as its speech
    run = run.with_output(seconds=length, size=wanted, model=model, follow_speech=follow)
    return run, photo
