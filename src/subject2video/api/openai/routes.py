"""The OpenAI Videos dialect: OpenAI's `/v1/videos` API served from the same task system.

| method, path                         | does                                                   |
|--------------------------------------|--------------------------------------------------------|
| POST   /v1/videos                    | a task from `input_reference` (upload, or image_url)   |
| GET    /v1/videos                    | the project's videos, `after`/`limit`/`order` cursor   |
| GET    /v1/videos/{id}               | one Video object                                       |
| DELETE /v1/videos/{id}               | kills it if unfinished, deletes its photo and files    |
| GET    /v1/videos/{id}/content       | `variant` video (MP4), thumbnail (WebP), spritesheet   |
| POST   /v1/videos/{id}/remix         | the same photo, size and length; a new prompt          |
| GET    /v1/models, /v1/models/{id}   | the models served: `s2v-1` and `s2v-<engine>`          |

Choices (ours, where OpenAI's documentation does not reach a self-hosted server):
- Auth is `Authorization: Bearer <API key>` (a project's key from `s2v keys`); the key alone is the
  whole credential here, as in the MiniMax dialect.
- `input_reference` is required (this server animates a person's photo): a multipart upload, a
  multipart field `input_reference[image_url]`, or JSON `{"image_url": "https://… or data:…"}`.
  `file_id` is not served.
- `seconds` is 2-12 (default 4, as OpenAI's); `size` is WIDTHxHEIGHT within contract.limits_text()
  (default: the photo's own aspect, short side 720, shown as `auto` until the video exists).
- Every video of the project is listed and readable here, whichever dialect made it.
- The video's project's webhook (`s2v keys create --webhook-url`) gets `video.completed` and
  `video.failed` events, signed per Standard Webhooks (tasks/openai_webhooks.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from subject2video.api.body import BadForm, inline_limit
from subject2video.api.deps import NoBearer, Services, UnknownBearer, bearer
from subject2video.api.door import answer, page_size
from subject2video.api.errors import ApiError
from subject2video.api.openai import content as openai_content
from subject2video.api.openai import openapi as doc
from subject2video.api.openai.request import (
    check_model,
    create_fields,
    parse_create,
    served_models,
    voice_of,
)
from subject2video.api.openai.wire import (
    BASE_MODEL,
    DIALECT,
    OpenAIError,
    openai_error,
    task_id_of,
    video_id,
    video_object,
)
from subject2video.errors import InputError, NotFound, ServiceError
from subject2video.tasks.models import Project
from subject2video.tasks.service import InputGone, TaskRef

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1")

_NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header "
    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
)


def _error(exc: Exception) -> Response:
    """Any error in OpenAI's envelope with OpenAI's status."""
    if isinstance(exc, NoBearer):
        wire = OpenAIError(401, _NO_KEY, code=None)
    elif isinstance(exc, UnknownBearer):
        wire = OpenAIError(401, f"Incorrect API key provided: {exc.shown}.", code="invalid_api_key")
    elif isinstance(exc, OpenAIError):
        wire = exc
    elif isinstance(exc, ServiceError):
        wire = openai_error(exc)
    elif isinstance(exc, BadForm):
        wire = OpenAIError(400, f"The body is not valid multipart/form-data: {exc.reason}")
    elif isinstance(exc, ApiError):  # what only HTTP knows: an unreadable or oversized body
        wire = OpenAIError(exc.status, exc.message, code="invalid_body")
    else:
        wire = OpenAIError(
            500, "The server had an error; its log has the details.", type="server_error"
        )
    return JSONResponse(wire.body(), wire.status, headers=wire.headers)


async def _answer(work: Callable[[], Awaitable[Any]]) -> Response:
    return await answer(work, _error)


# -- routes ---------------------------------------------------------------------------------


@router.post("/videos", summary="OpenAI: create a video from a photo", openapi_extra=doc.CREATE)
async def create_video(request: Request) -> Response:
    """Create a video job: the person in `input_reference` animated as `prompt` asks."""

    async def work() -> dict[str, Any]:
        services, caller = await bearer(request)
        fields, upload = await create_fields(request, inline_limit(services.settings))

        def create() -> dict[str, Any]:
            run, photo = parse_create(services, fields, upload)
            task = services.tasks.run(
                caller,
                run,
                photo,
                callback_dialect=DIALECT,
                callback_url=caller.webhook_url,
                audio=voice_of(fields),
            )
            return video_object(task, [], BASE_MODEL)

        return await run_in_threadpool(create)

    return await _answer(work)


@router.get("/videos", summary="OpenAI: the project's videos", openapi_extra=doc.READ)
async def list_videos(
    request: Request, after: str = "", limit: str = "", order: str = ""
) -> Response:
    """Videos newest first (`order=asc`: oldest first), `limit` (1-100) after the `after` id."""

    async def work() -> dict[str, Any]:
        services, caller = await bearer(request)
        count = page_size(limit)
        if order not in ("", "asc", "desc"):
            raise InputError("order must be asc or desc", parameter="order")
        after_id = task_id_of(after) if after else None
        page = await run_in_threadpool(
            services.tasks.page, caller, after_id, count, descending=order != "asc"
        )
        default = served_models(services)[0]
        data = [video_object(t, page.outputs[t.id], default) for t in page.tasks]
        return {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": page.has_more,
        }

    return await _answer(work)


async def _task(services: Services, caller: Project, video: str) -> tuple[Any, list[Any]]:
    ref = TaskRef(task_id=task_id_of(video))
    try:
        return await services.read(services.tasks.live_detail, caller, ref)
    except NotFound:
        raise NotFound(f"No video found with id '{video[:80]}'.") from None


@router.get("/videos/{video}", summary="OpenAI: one video", openapi_extra=doc.READ)
async def retrieve_video(video: str, request: Request) -> Response:
    """The video's status, progress, size, length and error."""

    async def work() -> dict[str, Any]:
        services, caller = await bearer(request)
        task, outputs = await _task(services, caller, video)
        return video_object(task, outputs, served_models(services)[0])

    return await _answer(work)


@router.delete(
    "/videos/{video}",
    summary="OpenAI: delete a video (killing it if unfinished)",
    openapi_extra=doc.DELETE,
)
async def delete_video(video: str, request: Request) -> Response:
    """Kill the video if it is unfinished, then delete its photo and files."""

    async def work() -> dict[str, Any]:
        services, caller = await bearer(request)
        task, _ = await _task(services, caller, video)
        ref = TaskRef(task_id=task.id)

        await run_in_threadpool(services.tasks.delete, caller, ref)
        return {"id": video_id(task.id), "object": "video.deleted", "deleted": True}

    return await _answer(work)


@router.get(
    "/videos/{video}/content",
    summary="OpenAI: the video's MP4, thumbnail or spritesheet",
    openapi_extra=doc.CONTENT,
)
async def video_content(video: str, request: Request, variant: str = "video") -> Response:
    """The MP4 (`variant=video`), a WebP thumbnail, or a JPEG spritesheet of the video."""

    async def work() -> Response:
        services, caller = await bearer(request)
        if variant not in openai_content.VARIANTS:
            raise InputError("variant must be video, thumbnail or spritesheet", parameter="variant")
        task, outputs = await _task(services, caller, video)
        return await openai_content.content(services, task, outputs, variant, request)

    return await _answer(work)


@router.post(
    "/videos/{video}/remix", summary="OpenAI: the same photo, a new prompt", openapi_extra=doc.REMIX
)
async def remix_video(video: str, request: Request) -> Response:
    """A new video from the source video's photo, length and size, with a new prompt."""

    async def work() -> dict[str, Any]:
        services, caller = await bearer(request)
        fields, _ = await create_fields(request, services.settings.max_body_bytes)
        task, _ = await _task(services, caller, video)
        prompt = fields.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise InputError("prompt is required: the remix's new prompt", parameter="prompt")
        ref = TaskRef(task_id=task.id)

        def remix() -> dict[str, Any]:
            try:
                made = services.tasks.remix(
                    caller, ref, prompt, callback_dialect=DIALECT, callback_url=caller.webhook_url
                )
            except InputGone:
                raise NotFound(
                    f"Video {video_id(task.id)}'s photo was deleted; it cannot be remixed. "
                    "Create a new video with the photo instead"
                ) from None
            return video_object(made, [], BASE_MODEL)

        return await run_in_threadpool(remix)

    return await _answer(work)


@router.get("/models", summary="OpenAI: the models served", openapi_extra=doc.READ)
async def list_models(request: Request) -> Response:
    async def work() -> dict[str, Any]:
        services, _ = await bearer(request)
        return {"object": "list", "data": [_model(m) for m in served_models(services)]}

    return await _answer(work)


@router.get("/models/{model}", summary="OpenAI: one model", openapi_extra=doc.READ)
async def retrieve_model(model: str, request: Request) -> Response:
    async def work() -> dict[str, Any]:
        services, _ = await bearer(request)
        if model not in served_models(services):
            check_model(services, model)
        return _model(model)

    return await _answer(work)


def _model(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 0, "owned_by": "subject2video"}
