"""The Replicate dialect's routes: parse → one service call → render, every error in Replicate's
body. `router` is served at the root and under /replicate; `shared` (paths another dialect answers
at the root) only under /replicate."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from subject2video.api.body import inline_limit, read_body, read_fields
from subject2video.api.deps import NoBearer, Services, UnknownBearer, bearer
from subject2video.api.door import answer
from subject2video.api.files import OutputLinks
from subject2video.api.replicate import openapi as doc
from subject2video.api.replicate.files import Files
from subject2video.api.replicate.models import COG_VERSION, DIALECT, MODELS, Model
from subject2video.api.replicate.request import (
    Create,
    model_for_version,
    model_named,
    parse_create,
)
from subject2video.api.replicate.wire import (
    ReplicateError,
    prediction,
    replicate_error,
)
from subject2video.contract import load_json, parse_task_id
from subject2video.errors import Conflict, InputError, NotFound
from subject2video.tasks.models import Project
from subject2video.tasks.service import TaskRef
from subject2video.tasks.status import Status

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/v1")
shared = APIRouter(prefix="/v1")

#: The longest `Prefer: wait` honoured, in seconds (Replicate's own bound), and the default.
MAX_WAIT = 60
#: Predictions per page of GET /v1/predictions.
PAGE = 100


class Caller:
    """An authenticated request: the services, the project and the base URL it used."""

    def __init__(self, request: Request, services: Services, project: Project) -> None:
        self.request = request
        self.services = services
        self.project = project
        self.base_url = services.settings.base_url
        #: The API's base as the caller named it (with /replicate when it came that way).
        prefix = "/replicate" if request.url.path.startswith("/replicate/") else ""
        self.api = self.base_url + prefix
        #: How its outputs' URLs are written (their access keys opened: files.py).
        self.links = OutputLinks.of(services)

    @property
    def files(self) -> Files:
        return Files(self.services.tasks.inputs, self.project.id)

    @property
    def bases(self) -> tuple[str, ...]:
        """The URLs this server is known by: its public URL, and the one this request used."""
        return (self.base_url, str(self.request.base_url).rstrip("/"))


async def _caller(request: Request) -> Caller:
    try:
        services, project = await bearer(request)
    except NoBearer:
        raise ReplicateError(
            401,
            "Unauthenticated",
            "You did not pass an authentication token: send Authorization: Bearer <API key>, "
            "a key made with `s2v keys create`",
        ) from None
    except UnknownBearer:
        raise ReplicateError(
            401, "Unauthenticated", "You did not pass a valid authentication token"
        ) from None
    return Caller(request, services, project)


async def _answer(work: Callable[[], Awaitable[Any]], photo: list[str] | None = None) -> Response:
    """Run a route's work; any error leaves in Replicate's body with its HTTP status."""

    def error(exc: Exception) -> Response:
        wire = replicate_error(exc, *(photo or [])[:1])
        return JSONResponse(wire.body(), wire.status, headers=wire.headers)

    return await answer(work, error)


# -- predictions ------------------------------------------------------------------------------


async def _create(request: Request, pick: Callable[[Any], Model]) -> Response:
    """Create a prediction of the model `pick` finds for the body."""
    photo: list[str] = []

    async def work() -> Response:
        caller = await _caller(request)
        services = caller.services
        data = load_json(await read_body(request, inline_limit(services.settings)))
        chosen = pick(data)
        photo.extend(chosen.photo[:1])

        def create() -> Any:
            made: Create = parse_create(data, chosen, services.tasks, caller.files, caller.bases)
            photo[:] = [made.photo]
            if made.webhook:
                ensure_webhook_secret(services, caller.project)
            return services.tasks.run(
                caller.project,
                made.run,
                made.upload,
                callback_dialect=DIALECT,
                callback_url=made.webhook or None,
                callback_events=made.events if made.webhook else None,
                audio=made.audio,
            )

        task = await run_in_threadpool(create)
        wait = _wait_seconds(request.headers.get("prefer", ""))
        if wait:
            await _wait(services, task, wait)
        task, outputs = await services.read(
            services.tasks.detail, caller.project, TaskRef(task_id=task.id)
        )
        body = prediction(task, outputs, caller.links, caller.api)
        return JSONResponse(body, 201, headers={"Location": body["urls"]["get"]})

    return await _answer(work, photo)


@router.post(
    "/models/{owner}/{name}/predictions",
    summary="Replicate: create a prediction of an official model",
    openapi_extra=doc.CREATE,
)
async def create_model_prediction(owner: str, name: str, request: Request) -> Response:
    """Create a prediction; with `Prefer: wait` (or `wait=N`), answer once it ends or N s pass."""
    return await _create(request, lambda _data: model_named(owner, name))


@router.post(
    "/predictions", summary="Replicate: create a prediction of a version", openapi_extra=doc.CREATE
)
async def create_prediction(request: Request) -> Response:
    """Create a prediction of `version` (a version id, `owner/name` or `owner/name:version`)."""
    return await _create(
        request,
        lambda data: model_for_version(data.get("version") if isinstance(data, dict) else None),
    )


def _wait_seconds(prefer: str) -> int:
    """The seconds `Prefer: wait` or `wait=N` asks to hold the request (0: none)."""
    for part in prefer.split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() != "wait":
            continue
        value = value.strip()
        if not value:
            return MAX_WAIT
        if not value.isdigit() or not 1 <= int(value) <= MAX_WAIT:
            raise ReplicateError(
                400,
                "Invalid Prefer header",
                f"Prefer: wait=N takes N from 1 to {MAX_WAIT} seconds; got {value[:20]!r}",
            )
        return int(value)
    return 0


async def _wait(services: Services, task: Any, seconds: int) -> None:
    """Hold until the task ends or `seconds` pass: woken by its events, checked in the store."""
    queue = services.hub.subscribe(task.token_digest)
    deadline = time.monotonic() + seconds
    try:
        while True:
            status = await services.read(services.tasks.status_of, task.id)
            if status is None or status.is_final:
                return
            left = deadline - time.monotonic()
            if left <= 0:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(queue.get(), timeout=min(left, 1.0))
    finally:
        services.hub.unsubscribe(task.token_digest, queue)


def _task_id(raw: str) -> int:
    try:
        return parse_task_id(raw)
    except NotFound:
        raise NotFound(f"Prediction {raw[:80]!r} not found") from None


async def _detail(caller: Caller, raw: str) -> tuple[Any, list[Any]]:
    ref = TaskRef(task_id=_task_id(raw))
    try:
        return await caller.services.read(caller.services.tasks.detail, caller.project, ref)
    except NotFound:
        raise NotFound(f"Prediction {raw[:80]!r} not found") from None


@router.get(
    "/predictions/{prediction_id}", summary="Replicate: one prediction", openapi_extra=doc.READ
)
async def get_prediction(prediction_id: str, request: Request) -> Response:
    async def work() -> dict[str, Any]:
        caller = await _caller(request)
        task, outputs = await _detail(caller, prediction_id)
        return prediction(task, outputs, caller.links, caller.api)

    return await _answer(work)


@router.get("/predictions", summary="Replicate: the project's predictions", openapi_extra=doc.LIST)
async def list_predictions(request: Request, cursor: str = "") -> Response:
    """Newest first, `PAGE` a page; `next` is the next page's URL (None on the last)."""

    async def work() -> dict[str, Any]:
        caller = await _caller(request)
        services = caller.services
        after = None
        if cursor:
            if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > 18:
                raise InputError("cursor is not one this server gave", parameter="cursor")
            after = int(cursor)
        page = await run_in_threadpool(services.tasks.page, caller.project, after, PAGE)
        shown = page.tasks
        results = [prediction(t, page.outputs[t.id], caller.links, caller.api) for t in shown]
        more = page.has_more
        return {
            "previous": None,
            "next": f"{caller.api}/v1/predictions?cursor={shown[-1].id}" if more else None,
            "results": results,
        }

    return await _answer(work)


@router.post(
    "/predictions/{prediction_id}/cancel",
    summary="Replicate: cancel a prediction",
    openapi_extra=doc.READ,
)
async def cancel_prediction(prediction_id: str, request: Request) -> Response:
    """Stop a prediction at any status before the end; one that ended is answered as it is."""

    async def work() -> dict[str, Any]:
        caller = await _caller(request)
        services = caller.services
        task, _ = await _detail(caller, prediction_id)
        if not Status(task.status).is_final:
            with contextlib.suppress(Conflict):  # it ended meanwhile: answer it as it is
                await run_in_threadpool(services.tasks.kill, caller.project, TaskRef(task.id))
        task, outputs = await _detail(caller, prediction_id)
        return prediction(task, outputs, caller.links, caller.api)

    return await _answer(work)


# -- models -----------------------------------------------------------------------------------


def _version(model: Model) -> dict[str, Any]:
    properties = {name: {"type": "string", "title": name} for name in model.inputs}
    return {
        "id": model.version,
        "created_at": "2025-01-01T00:00:00.000000Z",
        "cog_version": COG_VERSION,
        "openapi_schema": {
            "components": {
                "schemas": {
                    "Input": {"type": "object", "properties": properties},
                    "Output": {"type": "string", "format": "uri", "title": "Output"},
                }
            }
        },
    }


def _model(model: Model, caller: Caller) -> dict[str, Any]:
    return {
        "url": f"{caller.base_url}/?model={model.ref}",
        "owner": model.owner,
        "name": model.name,
        "description": model.description,
        "visibility": "public",
        "github_url": None,
        "paper_url": None,
        "license_url": None,
        "run_count": 0,
        "cover_image_url": None,
        "default_example": None,
        "latest_version": _version(model),
    }


@router.get("/models/{owner}/{name}", summary="Replicate: one model", openapi_extra=doc.READ)
async def get_model(owner: str, name: str, request: Request) -> Response:
    async def work() -> dict[str, Any]:
        caller = await _caller(request)
        return _model(model_named(owner, name), caller)

    return await _answer(work)


@router.get(
    "/models/{owner}/{name}/versions/{version_id}",
    summary="Replicate: one model version",
    openapi_extra=doc.READ,
)
async def get_version(owner: str, name: str, version_id: str, request: Request) -> Response:
    async def work() -> dict[str, Any]:
        await _caller(request)
        model = model_named(owner, name)
        if version_id.lower() != model.version:
            raise NotFound(f"Version {version_id[:80]!r} of {model.ref} not found")
        return _version(model)

    return await _answer(work)


@shared.get("/models", summary="Replicate: the models served", openapi_extra=doc.READ)
async def list_models(request: Request) -> Response:
    async def work() -> dict[str, Any]:
        caller = await _caller(request)
        return {
            "previous": None,
            "next": None,
            "results": [_model(m, caller) for m in MODELS.values()],
        }

    return await _answer(work)


# -- files ------------------------------------------------------------------------------------


@router.post("/files", summary="Replicate: upload a file", openapi_extra=doc.FILE_CREATE)
async def create_file(request: Request) -> Response:
    """A multipart upload in `content` (with optional `metadata`, a JSON object)."""

    async def work() -> Response:
        caller = await _caller(request)
        limit = caller.services.settings.max_body_bytes + 65536
        fields, upload = await read_fields(request, limit, ("content",))
        if upload is None or not upload.data:
            raise InputError("content is required: the file, as a multipart upload")
        metadata: Any = {}
        if fields.get("metadata"):
            metadata = load_json(fields["metadata"])
            if not isinstance(metadata, dict):
                raise InputError("metadata must be a JSON object", parameter="metadata")
        name = str(fields.get("filename") or upload.filename)
        kind = str(fields.get("type") or "")
        record = await run_in_threadpool(caller.files.add, name, upload.data, kind, metadata)
        return JSONResponse(record.body(caller.api), 201)

    return await _answer(work)


@router.get("/files", summary="Replicate: the project's files", openapi_extra=doc.READ)
async def list_files(request: Request) -> Response:
    async def work() -> dict[str, Any]:
        caller = await _caller(request)
        records = await run_in_threadpool(caller.files.list)
        return {"previous": None, "next": None, "results": [r.body(caller.api) for r in records]}

    return await _answer(work)


@router.get("/files/{file_id}", summary="Replicate: one file", openapi_extra=doc.READ)
async def get_file(file_id: str, request: Request) -> Response:
    async def work() -> dict[str, Any]:
        caller = await _caller(request)
        record = await run_in_threadpool(caller.files.get, file_id)
        return record.body(caller.api)

    return await _answer(work)


@router.delete("/files/{file_id}", summary="Replicate: delete a file", openapi_extra=doc.DELETE)
async def delete_file(file_id: str, request: Request) -> Response:
    async def work() -> Response:
        caller = await _caller(request)
        if not await run_in_threadpool(caller.files.delete, file_id):
            raise NotFound(f"File {file_id[:80]!r} not found")
        return Response(status_code=204)

    return await _answer(work)


# -- webhooks ---------------------------------------------------------------------------------


def ensure_webhook_secret(services: Services, project: Project) -> str:
    """The project's `whsec_` signing secret, made on first need (the store is the truth: the
    key cache may hold an older copy of the project)."""
    return services.tasks.webhook_secret(project)


@router.get(
    "/webhooks/default/secret",
    summary="Replicate: the secret webhooks are signed with",
    openapi_extra=doc.READ,
)
async def webhook_signing_secret(request: Request) -> Response:
    async def work() -> dict[str, Any]:
        caller = await _caller(request)
        key = await run_in_threadpool(ensure_webhook_secret, caller.services, caller.project)
        return {"key": key}

    return await _answer(work)
