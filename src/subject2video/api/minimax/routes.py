"""The MiniMax dialect: MiniMax's own video API (S2V-01, and the image-to-video models of
api/minimax_models.py) served from the same task system.

| method, path                               | does                                             |
|--------------------------------------------|--------------------------------------------------|
| POST /v1/video_generation                  | creates a task from one subject with one image   |
| GET  /v1/query/video_generation?task_id=   | the task's status in MiniMax's words             |
| GET  /v1/files/retrieve?file_id=           | the output's record, with its download URL       |

Choices (ours, where MiniMax's documentation does not reach a self-hosted server):
- Authentication is `Authorization: Bearer <API key>`, the key of a project made with `s2v keys`.
  MiniMax has no secret, so for projects that sign their Wiro requests the Bearer key alone is
  accepted in this dialect: here the API key is the whole credential. Missing header: 1004; unknown
  key: 2049.
- task_id is our task id (a decimal string, as MiniMax's are). file_id is the output's id, 32 hex
  characters kept as a string: MiniMax's file_ids are numeric strings that clients pass back as they
  got them. download_url is the output's own URL (it carries the output's accesskey).
- Every answer is HTTP 200 with `base_resp` {status_code, status_msg}, as MiniMax answers (CODES).
  A task or file that is not there (or is another project's) is 2013, invalid parameters.
- `prompt_optimizer` is accepted and ignored: prompts are used as given. The JSON body may be a
  third larger than `S2V_MAX_BODY_BYTES`, the room a base64 data URI of a full-size image needs.
- Tasks made here are ordinary tasks: Wiro's Task/Detail shows them, and the query here shows tasks
  made through Wiro's Run. Callbacks follow MiniMax's rules (tasks/minimax_callbacks.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from enum import IntEnum
from typing import Any

import av
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from subject2video.api.body import inline_limit, read_body
from subject2video.api.datauri import data_uri, image_suffix, is_data_uri
from subject2video.api.deps import NoBearer, Services, UnknownBearer, bearer
from subject2video.api.door import DialectError, answer
from subject2video.api.errors import ApiError
from subject2video.api.files import OutputLinks
from subject2video.api.minimax.models import (
    CALLBACK_PARAM,
    FIRST_FRAME_PARAM,
    OPTIMIZER_PARAM,
    SUBJECT_MODEL,
    SUBJECT_PARAM,
    Refused,
    Wanted,
    model_for,
    output_for,
)
from subject2video.api.minimax.openapi import MINIMAX_GENERATION, MINIMAX_READ
from subject2video.api.voice import audio_data_uri
from subject2video.contract import (
    AUDIO,
    CALLBACK,
    FRAMING,
    IMAGE,
    IMAGE_PARAM,
    MINIMAX,
    SUBJECT_IMAGE,
    VOICE,
    RunInput,
    load_json,
    parse_run,
    parse_task_id,
    spelling,
)
from subject2video.errors import (
    Conflict,
    Failure,
    FetchError,
    ImageError,
    InputError,
    LimitReached,
    NotFound,
    ServiceError,
    StorageError,
    lookup,
    respell,
    spelled,
)
from subject2video.media.images import load_image
from subject2video.tasks.models import Output, Task
from subject2video.tasks.service import TaskRef, Upload
from subject2video.tasks.status import Outcome, Status

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1")

MODEL = SUBJECT_MODEL
#: Whose callback rules a task made here follows (the Task column `callback_dialect`).
DIALECT = "minimax"
#: The extension field for a voice recording (README "Speech"): an http(s) URL or a data URI.
AUDIO_URL_PARAM = AUDIO.called(MINIMAX)


class Code(IntEnum):
    """MiniMax's base_resp status codes that this server answers."""

    #: Done.
    success = 0
    #: Anything unexpected; also a task that failed for a reason other than its image.
    unknown = 1000
    #: Rate limit: the project's limit on unfinished tasks is reached.
    rate_limit = 1002
    #: No `Authorization: Bearer <key>` header.
    not_authorized = 1004
    #: Internal service error: here, the server's storage failed (HTTP 503 with Retry-After).
    service_error = 1013
    #: The input image was rejected (type, size, shape, no face, could not be fetched).
    image_rejected = 1026
    #: Invalid parameters.
    invalid_params = 2013
    #: The API key is not known.
    invalid_key = 2049


OK = {"status_code": Code.success.value, "status_msg": "success"}
NO_AUTH = (
    "login fail: Please carry the API secret key in the 'Authorization' field of the request header"
)


class MinimaxError(DialectError):
    """An error answered as base_resp with one of MiniMax's codes."""

    def __init__(self, code: Code, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(message: str) -> MinimaxError:
    """A 2013 error: invalid parameters."""
    return MinimaxError(Code.invalid_params, f"invalid params, {message}")


#: Domain error → MiniMax code, for errors raised while answering a request. The first class in
#: an error's MRO that is here wins; any other error is 1000.
REQUEST_ERRORS: dict[type[ServiceError], Code] = {
    LimitReached: Code.rate_limit,
    FetchError: Code.invalid_params,
    ImageError: Code.image_rejected,
    InputError: Code.invalid_params,
    NotFound: Code.invalid_params,
    Conflict: Code.invalid_params,
    StorageError: Code.service_error,
}
#: A failed task's stored failure kind → the code its query answer carries (others: 1000).
FAILURE_CODES: dict[str, Code] = {Failure.image.value: Code.image_rejected}
_WORDING = {Code.rate_limit: "rate limit exceeded: ", Code.invalid_params: "invalid params, "}


def error_code(exc: Exception) -> tuple[Code, str]:
    """The MiniMax code and message for an exception raised while answering a request."""
    if isinstance(exc, MinimaxError):
        return exc.code, exc.message
    if isinstance(exc, ServiceError):
        code = lookup(REQUEST_ERRORS, exc)
        if code is None:
            return Code.unknown, exc.message
        return code, _WORDING.get(code, "") + exc.message
    if isinstance(exc, NoBearer):
        return Code.not_authorized, NO_AUTH
    if isinstance(exc, UnknownBearer):
        return Code.invalid_key, exc.message
    if isinstance(exc, ApiError):  # what only HTTP knows: authentication, an unreadable body
        if exc.status == 401:
            return Code.not_authorized, exc.message
        if exc.status in (400, 413):
            return Code.invalid_params, f"invalid params, {exc.message}"
        return Code.unknown, exc.message
    return Code.unknown, "unknown error; the server log has the details"


def wire_names(image_param: str) -> dict[str, str]:
    """Our parameter names as a MiniMax caller spells them, when the image came as `image_param`
    (`first_frame_image`, or `subject_reference` for S2V-01)."""
    return spelling(MINIMAX, image=SUBJECT_IMAGE if image_param == SUBJECT_PARAM else IMAGE)


def base_resp(code: Code, message: str) -> dict[str, Any]:
    return {"status_code": code.value, "status_msg": message}


# -- statuses and the query body ------------------------------------------------------------

_PREPARING = {Status.accept, Status.preprocess_start, Status.preprocess_end}


def minimax_status(status: str, pexit: str | None) -> str:
    """Our status as MiniMax's: Queueing, Preparing, Processing, Success or Fail."""
    outcome = Outcome.at(status, pexit)
    if outcome != Outcome.running:
        return "Success" if outcome == Outcome.succeeded else "Fail"
    ours = Status(status)
    if ours == Status.queue:
        return "Queueing"
    return "Preparing" if ours in _PREPARING else "Processing"


def failure(task: Task) -> tuple[Code, str]:
    """Why a task failed, as base_resp: 1026 when its image was rejected, else 1000."""
    if task.status == Status.cancel.value:
        return Code.unknown, "task was cancelled"
    reason = task.debugerror or "task failed"
    if task.callback_dialect == DIALECT:  # named as its caller sent it
        run = RunInput.from_parameters(task.parameters or {})
        # A task made here with an image model records `model`; S2V-01's tasks do not.
        reason = respell(reason, wire_names(FIRST_FRAME_PARAM if run.model else SUBJECT_PARAM))
    return FAILURE_CODES.get(task.failure or "", Code.unknown), reason


def query_body(
    task: Task,
    outputs: Sequence[Output],
    status: str | None = None,
    size: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """The query answer for a task (at `status`, default its own), as callbacks also send it."""
    shown = minimax_status(status or task.status, task.pexit)
    body: dict[str, Any] = {
        "task_id": str(task.id),
        "status": shown,
        "file_id": "",
        "video_width": 0,
        "video_height": 0,
        "base_resp": OK,
    }
    if shown == "Success" and outputs:
        output = outputs[0]
        width, height = size or (output.width or 0, output.height or 0)
        body.update(file_id=output.id, video_width=width, video_height=height)
    elif shown == "Fail":
        body["base_resp"] = base_resp(*failure(task))
    return body


def file_body(output: Output, links: OutputLinks) -> dict[str, Any]:
    """The `file` object of files/retrieve."""
    return {
        "file_id": output.id,
        "bytes": output.size,
        "created_at": int(output.addedtime),
        "filename": "output.mp4",
        "purpose": "video_generation",
        "download_url": links.url(output),
    }


# -- the request ----------------------------------------------------------------------------


def parse_request(data: Any) -> tuple[dict[str, Any], str, Wanted]:
    """Check a video_generation body; return the task's fields (without the image), the image and
    the output the model allows (minimax_models)."""
    if not isinstance(data, dict):
        raise invalid("the body must be a JSON object")
    try:
        model = model_for(data.get("model"))
        output = output_for(model, data)
    except Refused as exc:
        raise invalid(str(exc)) from None
    if model.name == SUBJECT_MODEL:
        image = _subject_image(data.get(SUBJECT_PARAM))
    else:
        image = _first_frame(data.get(FIRST_FRAME_PARAM), model.name)
    fields: dict[str, Any] = {}
    prompt = data.get("prompt")
    if prompt is not None:
        if not isinstance(prompt, str):
            raise invalid("prompt must be a string")
        fields["prompt"] = prompt
    optimizer = data.get(OPTIMIZER_PARAM)
    if optimizer is not None and not isinstance(optimizer, bool):
        raise invalid(f"{OPTIMIZER_PARAM} must be true or false")
    callback = data.get(CALLBACK_PARAM)
    if callback is not None:
        if not isinstance(callback, str):
            raise invalid(f"{CALLBACK_PARAM} must be a string")
        fields[CALLBACK.name] = callback.strip()
    # Extensions (README): the voice of a quoted line, a voice recording's URL, the framing.
    for ours, theirs in ((p.name, p.called(MINIMAX)) for p in (VOICE, AUDIO, FRAMING)):
        value = data.get(theirs)
        if value is not None:
            if not isinstance(value, str):
                raise invalid(f"{theirs} must be a string")
            fields[ours] = value
    return fields, image, output


def _first_frame(image: Any, model: str) -> str:
    if image is None or (isinstance(image, str) and not image.strip()):
        raise invalid(
            f"{FIRST_FRAME_PARAM} is required: this server animates a person's photo, so "
            f"{model} needs the photo as a URL or a data URI (text-to-video is not served)"
        )
    if not isinstance(image, str):
        raise invalid(f"{FIRST_FRAME_PARAM} must be a URL or a data URI")
    return image.strip()


def _subject_image(subjects: Any) -> str:
    if not isinstance(subjects, list) or len(subjects) != 1:
        count = len(subjects) if isinstance(subjects, list) else 0
        raise invalid(f"{SUBJECT_PARAM} must hold exactly one subject, got {count}")
    subject = subjects[0]
    if not isinstance(subject, dict):
        raise invalid(f"{SUBJECT_PARAM}[0] must be an object")
    kind = subject.get("type")
    if not isinstance(kind, str) or kind.strip().lower() != "character":
        raise invalid(f"{SUBJECT_PARAM}[0].type must be 'character', got {kind!r}")
    images = subject.get("image")
    if isinstance(images, str):
        images = [images]
    if not isinstance(images, list) or len(images) != 1:
        count = len(images) if isinstance(images, list) else 0
        raise invalid(f"{SUBJECT_PARAM}[0].image must hold exactly one image, got {count}")
    image = images[0]
    if not isinstance(image, str) or not image.strip():
        raise invalid(f"{SUBJECT_PARAM}[0].image must be a URL or a data URI")
    return image.strip()


def image_input(image: str, param: str = SUBJECT_PARAM) -> tuple[dict[str, Any], Upload | None]:
    """A URL goes as the run's image URL (fetched later); a data URI is checked now, as an
    upload."""
    if not image.lower().startswith("data:"):
        if not image.lower().startswith(("http://", "https://")):
            raise invalid(f"{param} image must be an http(s) URL or a data URI")
        return {IMAGE_PARAM: image}, None
    data = data_uri(image, param)
    load_image(data, parameter=param)  # ImageError: answered 1026
    return {}, Upload(filename=f"subject.{image_suffix(data)}", data=data)


# -- routes ---------------------------------------------------------------------------------


def _error(empty: dict[str, Any]) -> Callable[[Exception], JSONResponse]:
    """Any error as base_resp (with `empty`'s keys), always HTTP 200 (503 for storage)."""

    def render(exc: Exception) -> JSONResponse:
        body = {**empty, "base_resp": base_resp(*error_code(exc))}
        if isinstance(exc, StorageError):  # the machine's fault: say when to come back
            return JSONResponse(body, 503, headers={"Retry-After": str(exc.retry_after)})
        return JSONResponse(body)

    return render


def _ok(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse({"base_resp": OK, **body})


@router.post(
    "/video_generation",
    summary="MiniMax: create a subject-to-video task",
    openapi_extra=MINIMAX_GENERATION,
)
async def video_generation(request: Request) -> JSONResponse:
    """Create a task from one subject image (URL or data URI), a prompt and a callback URL."""

    async def work() -> dict[str, Any]:
        services, caller = await bearer(request)
        raw = await read_body(request, inline_limit(services.settings))
        data = load_json(raw)  # InputError (2013): not JSON, or nested too deep
        fields, image, output = parse_request(data)

        def create() -> Task:
            image_fields, upload = image_input(image, output.model.image_param)
            size = len(upload.data) if upload is not None else None
            checks = services.tasks.check_url
            voice, audio = fields.get(AUDIO.name), None
            if isinstance(voice, str) and is_data_uri(voice.strip()):
                # The extension's voice as a data URI: an upload, checked now (api/voice.py).
                audio = audio_data_uri(voice.strip(), AUDIO_URL_PARAM)
                del fields[AUDIO.name]
            try:
                run = parse_run({**fields, **image_fields}, upload_size=size, check_url=checks)
            except ServiceError as exc:  # named as the caller sent it, not as Wiro's Run does
                raise spelled(exc, wire_names(output.model.image_param)) from None
            if audio is not None or run.audio_url:
                run = replace(run, audio_parameter=AUDIO_URL_PARAM)  # the worker's errors too
            if output.model.name != SUBJECT_MODEL:
                run = run.with_output(
                    seconds=output.seconds, short_side=output.short_side, model=output.model.name
                )
            run = run.with_output(follow_speech=output.follow)
            return services.tasks.run(caller, run, upload, callback_dialect=DIALECT, audio=audio)

        task = await run_in_threadpool(create)
        return {"task_id": str(task.id)}

    return await answer(work, _error({"task_id": ""}), _ok)


@router.get(
    "/query/video_generation", summary="MiniMax: a task's status", openapi_extra=MINIMAX_READ
)
async def query_video_generation(request: Request, task_id: str = "") -> JSONResponse:
    """The task's status; file_id and the video's size once it succeeded."""

    async def work() -> dict[str, Any]:
        services, caller = await bearer(request)
        raw = task_id.strip()
        if not raw:
            raise invalid("task_id is required and must be a task id")
        ref = TaskRef(task_id=parse_task_id(raw))
        task, outputs = await services.read(services.tasks.detail, caller, ref)
        size = None
        if outputs and outputs[0].width is None:
            size = await run_in_threadpool(_frame_size, services, outputs[0])
        return query_body(task, outputs, size=size)

    empty = {"task_id": task_id, "status": "", "file_id": "", "video_width": 0, "video_height": 0}
    return await answer(work, _error(empty), _ok)


@router.get(
    "/files/retrieve",
    summary="MiniMax: an output file's record and download URL",
    openapi_extra=MINIMAX_READ,
)
async def files_retrieve(request: Request, file_id: str = "") -> JSONResponse:
    """The output's size, time and download URL."""

    async def work() -> dict[str, Any]:
        services, caller = await bearer(request)
        if not file_id.strip():
            raise invalid("file_id is required")
        try:
            output = await run_in_threadpool(services.tasks.project_file, caller, file_id.strip())
        except NotFound:
            raise invalid(f"file_id {file_id!r} is not a file of this project") from None
        return {"file": file_body(output, OutputLinks.of(services))}

    return await answer(work, _error({"file": None}), _ok)


def _frame_size(services: Services, output: Output) -> tuple[int, int]:
    """An older output's frame size, from its file's header (no frame is decoded)."""
    try:
        with av.open(str(services.outputs.path(output.key))) as container:
            stream = container.streams.video[0]
            return int(stream.codec_context.width), int(stream.codec_context.height)
    except (OSError, IndexError, av.error.FFmpegError):
        return 0, 0
