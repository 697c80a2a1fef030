"""A create-prediction body, parsed into our contract: the run, its photo, and the webhook.

The photo may come as an http(s) URL (fetched by the worker, under the server's fetch rules), a data
URI, or the URL of a file uploaded to this server's Files API (read from storage, never fetched).
Every error names the input as Replicate spells it (`input.subject_reference`, …).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from subject2video.api.datauri import decode_data_uri, is_data_uri
from subject2video.api.replicate.files import Files, local_file_id
from subject2video.api.replicate.models import (
    AUDIO,
    BY_VERSION,
    DEFAULT_OUTPUT,
    DURATION,
    EVENTS_FILTER,
    FRAMING,
    MODELS,
    OPTIMIZER,
    PROMPT,
    RESOLUTION,
    SEED,
    SERVED,
    VOICE,
    WEBHOOK,
    WEBHOOK_COMPLETED,
    Model,
    short_side,
)
from subject2video.api.replicate.wire import ReplicateError, invalid
from subject2video.api.voice import audio_data_uri, audio_upload
from subject2video.contract import AUDIO as AUDIO_PARAM
from subject2video.contract import (
    FRAMING as FRAMING_INPUT,
)
from subject2video.contract import (
    IMAGE_PARAM,
    MAX_IMAGE_BYTES,
    MAX_URL,
    VOICES,
    RunInput,
    check_fields,
    check_text,
    parse_framing,
    parse_run,
)
from subject2video.contract import VOICE as VOICE_PARAM
from subject2video.errors import InputError
from subject2video.media.images import load_image, sniff_format
from subject2video.tasks.service import TaskService, Upload

#: webhook_events_filter's events, as Replicate names them.
EVENTS = ("start", "output", "logs", "completed")
#: The events sent when the request names none: Replicate's default (new logs, new outputs, the
#: end).
DEFAULT_EVENTS = ("output", "logs", "completed")


@dataclass(frozen=True)
class Create:
    """A checked create request."""

    run: RunInput
    upload: Upload | None
    model: Model
    #: Where the webhooks go ('' for none), and which events of `EVENTS` it gets.
    webhook: str
    events: tuple[str, ...]
    photo: str
    #: An uploaded voice (the `audio` extension as a data URI or a file of ours), checked.
    audio: Upload | None = None


def model_named(owner: str, name: str) -> Model:
    model = MODELS.get(f"{owner}/{name}".lower())
    if model is None:
        raise ReplicateError(
            404,
            "Model not found",
            f"Model {owner[:40]}/{name[:60]} is not served here; served models: {SERVED}",
        )
    return model


def model_for_version(version: Any) -> Model:
    """`version` of POST /v1/predictions: a version id, `owner/name` or `owner/name:id`."""
    if not isinstance(version, str) or not version.strip():
        raise ReplicateError(
            422, "Input validation failed", "version is required: a model version id"
        )
    text = version.strip().lower()
    ref, _, version_id = text.partition(":")
    if "/" in ref:
        model = model_named(*ref.split("/", 1))
        if version_id and version_id != model.version:
            raise _no_version(version)
        return model
    model = BY_VERSION.get(text)
    if model is None:
        raise _no_version(version)
    return model


def _no_version(version: str) -> ReplicateError:
    return ReplicateError(
        404,
        "Version not found",
        f"Version {version[:80]!r} is not served here; GET /v1/models/<owner>/<name> gives each "
        f"served model's latest_version (served models: {SERVED})",
    )


def parse_create(
    data: Any,
    model: Model,
    tasks: TaskService,
    files: Files,
    bases: tuple[str, ...],
) -> Create:
    """Check a create body for `model`: its input, photo, length, size and webhook."""
    if not isinstance(data, dict):
        raise ReplicateError(400, "Invalid request", "The body must be a JSON object")
    given = data.get("input")
    if not isinstance(given, dict):
        raise invalid("input", "input is required and must be an object of the model's inputs")
    # Valid Unicode and bounded text in every input (a photo may be a long data URI: checked below).
    check_fields({str(k): v for k, v in given.items() if k not in (*model.photo, AUDIO)})
    unknown = [k for k in given if k not in model.inputs]
    if unknown:
        raise invalid(
            str(unknown[0])[:60],
            f"{str(unknown[0])[:60]} is not an input of {model.ref}; its inputs are "
            f"{', '.join(model.inputs)}",
        )
    photo = next((p for p in model.photo if _present(given.get(p))), None)
    if photo is None:
        names = " or ".join(model.photo)
        raise invalid(
            model.photo[0],
            f"{names} is required: this server animates the person in a photo (a URL, a data "
            "URI or a file uploaded to /v1/files); text-to-video is not served",
        )
    prompt = given.get(PROMPT)
    if prompt is not None and not isinstance(prompt, str):
        raise invalid(PROMPT, "prompt must be a string")
    optimizer = given.get(OPTIMIZER)
    if optimizer is not None and not isinstance(optimizer, bool):
        raise invalid(OPTIMIZER, f"{OPTIMIZER} must be true or false")
    seed = given.get(SEED)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | str)):
        raise invalid(SEED, "seed must be an integer")
    framing = parse_framing(given.get(FRAMING))  # before the photo: a wrong word costs no fetch
    url, upload = _photo(given[photo], photo, tasks, files, bases)
    fields: dict[str, Any] = {PROMPT: prompt or None, IMAGE_PARAM: url}
    if seed is not None:
        fields[SEED] = str(seed)
    if framing is not None:
        fields[FRAMING_INPUT.name] = framing
    speech, audio = _speech(given, tasks, files, bases)
    fields.update(speech)
    try:
        run = parse_run(fields, upload_size=len(upload.data) if upload is not None else None)
    except InputError as exc:  # the speech inputs named as Replicate's caller spelled them
        if exc.parameter not in (AUDIO_PARAM.name, VOICE_PARAM.name):
            raise
        raise invalid(_spelled(exc.parameter), _spelled(exc.message)) from None
    seconds, side = _length_and_size(given, model)
    follow = not _present(given.get(DURATION))  # no length asked: a spoken video lasts as said
    run = run.with_output(seconds=seconds, short_side=side, model=model.ref, follow_speech=follow)
    webhook, events = _webhook(data, tasks)
    if audio is not None or run.audio_url:
        run = replace(run, audio_parameter=AUDIO)  # the worker's errors name it so
    return Create(run, upload, model, webhook, events, photo, audio)


def _speech(
    given: dict[str, Any], tasks: TaskService, files: Files, bases: tuple[str, ...]
) -> tuple[dict[str, Any], Upload | None]:
    """The extensions `voice` and `audio` under the contract's names (README "Speech"): the
    voice recording an http(s) URL (fetched by the worker), or a file now: a data URI or a file
    uploaded to this server's Files API (read from storage, never fetched), checked here."""
    out: dict[str, Any] = {}
    voice = given.get(VOICE)
    if _present(voice):
        if not isinstance(voice, str):
            raise invalid(VOICE, f"{VOICE} must be a string: one of {', '.join(VOICES)}")
        out[VOICE_PARAM.name] = voice
    audio = given.get(AUDIO)
    if not _present(audio):
        return out, None
    if not isinstance(audio, str):
        raise invalid(AUDIO, f"{AUDIO} must be a URL, a data URI or a file's URL")
    text = check_text(audio.strip(), AUDIO, max(MAX_URL, 4 * MAX_IMAGE_BYTES))
    if is_data_uri(text):
        return out, audio_data_uri(text, AUDIO)
    file_id = local_file_id(text, bases)
    if file_id is not None:
        record, data = files.read(file_id)
        return out, audio_upload(data, record.name, AUDIO)
    if not text.lower().startswith(("http://", "https://")):
        raise invalid(AUDIO, f"{AUDIO} must be an http(s) URL, a data URI or a file's URL")
    check_text(text, AUDIO, MAX_URL)
    tasks.check_url(text, AUDIO)
    out[AUDIO_PARAM.name] = text
    return out, None


def _spelled(text: str | None) -> str:
    """A contract message or parameter name with the speech inputs as Replicate spells them."""
    text = (text or "").replace(AUDIO_PARAM.name, AUDIO).replace(f"[{VOICE_PARAM.name}]", VOICE)
    return text.replace("Request parameter ", "input.")


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _photo(
    value: Any, photo: str, tasks: TaskService, files: Files, bases: tuple[str, ...]
) -> tuple[str | None, Upload | None]:
    """The photo as a URL to fetch later, or as bytes now (a data URI, or a file of ours)."""
    if not isinstance(value, str):
        raise invalid(photo, f"{photo} must be a URL or a data URI")
    text = check_text(value.strip(), photo, max(MAX_URL, 4 * MAX_IMAGE_BYTES))
    if is_data_uri(text):
        return None, _checked(decode_data_uri(text, photo), photo, "photo")
    file_id = local_file_id(text, bases)
    if file_id is not None:
        record, data = files.read(file_id)
        return None, _checked(data, photo, record.name)
    if not text.lower().startswith(("http://", "https://")):
        raise invalid(photo, f"{photo} must be an http(s) URL, a data URI or a file's URL")
    check_text(text, photo, MAX_URL)
    tasks.check_url(text, photo)
    return text, None


def _checked(data: bytes, photo: str, name: str) -> Upload:
    if not data:
        raise invalid(photo, f"{photo} is an empty file")
    if len(data) > MAX_IMAGE_BYTES:
        raise invalid(photo, f"{photo} is {len(data)} bytes; at most 20 MB are accepted")
    loaded = load_image(data, parameter=photo)  # a wrong type or shape is refused now, named
    suffix = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}[sniff_format(data) or loaded.format]
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return Upload(filename=f"{stem or 'photo'}.{suffix}", data=data)


def _length_and_size(given: dict[str, Any], model: Model) -> tuple[int, int]:
    if model.durations is None:
        return DEFAULT_OUTPUT
    duration = given.get(DURATION, DEFAULT_OUTPUT[0])
    if isinstance(duration, str) and duration.strip().isdigit():
        duration = int(duration)
    if isinstance(duration, bool) or not isinstance(duration, int):
        raise invalid(DURATION, f"duration must be an integer number of seconds, got {duration!r}")
    if duration not in model.durations:
        allowed = " or ".join(str(d) for d in model.durations)
        raise invalid(DURATION, f"duration {duration} is not served by {model.ref}; use {allowed}")
    resolution = given.get(RESOLUTION, model.default_resolution)
    allowed_sizes = sorted({r for rs in model.durations.values() for r in rs}, key=short_side)
    if not isinstance(resolution, str) or resolution.strip().lower() not in allowed_sizes:
        raise invalid(
            RESOLUTION,
            f"resolution {resolution!r} is not served by {model.ref}; use "
            f"{', '.join(allowed_sizes)}",
        )
    resolution = resolution.strip().lower()
    if resolution not in model.durations[duration]:
        raise invalid(
            RESOLUTION,
            f"resolution {resolution} is not served at {duration} s by {model.ref}; at "
            f"{duration} s use {', '.join(model.durations[duration])}",
        )
    return duration, short_side(resolution)


def _webhook(data: dict[str, Any], tasks: TaskService) -> tuple[str, tuple[str, ...]]:
    """Where the webhooks go, and for which events: `webhook` for `webhook_events_filter`'s (by
    default DEFAULT_EVENTS), else `webhook_completed` for `completed` only; ('', ()) for none."""
    events = data.get(EVENTS_FILTER)
    if events is not None and (
        not isinstance(events, list) or any(e not in EVENTS for e in events)
    ):
        raise ReplicateError(
            422,
            "Input validation failed",
            f"{EVENTS_FILTER} must be a list of {', '.join(EVENTS)}",
        )
    for name in (WEBHOOK, WEBHOOK_COMPLETED):
        url = data.get(name)
        if url is None or url == "":
            continue
        if not isinstance(url, str):
            raise ReplicateError(422, "Input validation failed", f"{name} must be a URL")
        url = check_text(url.strip(), name, MAX_URL)
        tasks.check_url(url, name)
        if name == WEBHOOK_COMPLETED:
            return url, ("completed",)
        wanted = DEFAULT_EVENTS if events is None else tuple(dict.fromkeys(events))
        return url, wanted
    return "", ()
