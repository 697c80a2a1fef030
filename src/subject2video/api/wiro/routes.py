"""The Wiro routes: Run, Task/*, Tool/Detail. Each parses, calls the service, shapes the reply."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from subject2video.api.body import read_fields
from subject2video.api.deps import Services, authorize
from subject2video.api.files import OutputLinks
from subject2video.api.openapi import LIST_FIELDS, REF_FIELDS, RUN_FIELDS, TOOL_FIELDS, route
from subject2video.api.voice import audio_upload
from subject2video.api.wiro.tool import tool_detail
from subject2video.api.wiro.wire import task_dict
from subject2video.contract import AUDIO_UPLOAD_PARAM, MODEL_OWNER, MODEL_PROJECT, parse_run
from subject2video.errors import NotFound
from subject2video.tasks.models import Project, Task
from subject2video.tasks.service import TaskRef, Upload, model_slug_ok

router = APIRouter(prefix="/v1")


class FastJSONResponse(JSONResponse):
    """JSON rendered by orjson: a fifth of the standard library's cost on Detail's hot path."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def _tasklist(services: Services, tasks: list[Task], total: int | None = None) -> dict[str, Any]:
    outputs = services.tasks.outputs_of(tasks)
    links, price = OutputLinks.of(services), services.settings.price_per_second
    return {
        "total": str(len(tasks) if total is None else total),
        "errors": [],
        "tasklist": [
            task_dict(t, outputs[t.id], links, price, token=services.tasks.token_of(t))
            for t in tasks
        ],
        "result": True,
    }


@router.post(
    "/Run/{owner}/{project}",
    summary="Run a task of the model",
    openapi_extra=route(RUN_FIELDS, 429, upload=True, audio=True),
)
async def run_task(owner: str, project: str, request: Request) -> dict[str, Any]:
    """Create a task from an image (upload or URL), a prompt and an optional callback URL."""
    services, caller = await authorize(request)
    if not model_slug_ok(owner, project):
        raise NotFound("slug-owner-project-not-exist")
    files: dict[str, Upload] = {}
    fields, upload = await read_fields(request, services.settings.max_body_bytes, other_files=files)

    def work() -> Task:
        size = len(upload.data) if upload is not None else None
        run = parse_run(fields, upload_size=size, check_url=services.tasks.check_url)
        # An uploaded voice (a file part beside inputAudioUrl), checked now (api/voice.py).
        given = files.get(AUDIO_UPLOAD_PARAM)
        audio = None
        if given is not None:
            audio = audio_upload(given.data, given.filename, AUDIO_UPLOAD_PARAM)
        return services.tasks.run(caller, run, upload, audio=audio)

    task = await run_in_threadpool(work)
    return {
        "errors": [],
        "taskid": str(task.id),
        "socketaccesstoken": services.tasks.token_of(task),
        "result": True,
    }


async def _change_task(
    request: Request, change: Callable[[Services, Project, TaskRef], Any]
) -> dict[str, Any]:
    """Authorize, name the task, apply `change` on the thread pool; answer like Detail."""
    services, caller = await authorize(request)
    ref = await _ref(request, services)

    def work() -> dict[str, Any]:
        return _tasklist(services, [change(services, caller, ref)])

    return await run_in_threadpool(work)


async def _ref(request: Request, services: Services) -> TaskRef:
    fields, _ = await read_fields(request, services.settings.max_body_bytes)
    return TaskRef.parse(fields)


@router.post(
    "/Task/Detail", summary="One task, by taskid or tasktoken", openapi_extra=route(REF_FIELDS)
)
async def task_detail(request: Request) -> FastJSONResponse:
    """The hot path of every polling client: one read, no thread hop on SQLite."""
    services, caller = await authorize(request)
    ref = await _ref(request, services)
    task, outputs = await services.read(services.tasks.detail, caller, ref)
    settings = services.settings
    token = services.tasks.token_of(task)
    links = OutputLinks.of(services)
    document = task_dict(task, outputs, links, settings.price_per_second, token=token)
    return FastJSONResponse({"total": "1", "errors": [], "tasklist": [document], "result": True})


@router.post(
    "/Task/Cancel",
    summary="Cancel a task that has not started",
    openapi_extra=route(REF_FIELDS, 409),
)
async def task_cancel(request: Request) -> dict[str, Any]:
    return await _change_task(request, lambda s, caller, ref: s.tasks.cancel(caller, ref))


@router.post(
    "/Task/Kill",
    summary="Stop a task at any non-final status",
    openapi_extra=route(REF_FIELDS, 409),
)
async def task_kill(request: Request) -> dict[str, Any]:
    return await _change_task(request, lambda s, caller, ref: s.tasks.kill(caller, ref))


@router.post(
    "/Task/List",
    summary="This project's tasks, newest first",
    openapi_extra=route(LIST_FIELDS),
)
async def task_list(request: Request) -> dict[str, Any]:
    services, caller = await authorize(request)
    fields, _ = await read_fields(request, services.settings.max_body_bytes)

    def work() -> dict[str, Any]:
        total, tasks = services.tasks.list(caller, fields)
        return _tasklist(services, tasks, total)

    return await run_in_threadpool(work)


@router.post(
    "/Task/InputOutputDelete",
    summary="Delete a final task's input and outputs",
    openapi_extra=route(REF_FIELDS, 409),
)
async def task_io_delete(request: Request) -> dict[str, Any]:
    return await _change_task(
        request, lambda s, caller, ref: s.tasks.delete_io(caller, ref, s.outputs)
    )


@router.post("/Tool/Detail", summary="The model's parameters", openapi_extra=route(TOOL_FIELDS))
async def tool(request: Request) -> dict[str, Any]:
    services, _caller = await authorize(request)
    fields, _ = await read_fields(request, services.settings.max_body_bytes)
    owner = str(fields.get("slugowner") or MODEL_OWNER)
    project = str(fields.get("slugproject") or MODEL_PROJECT)
    if not model_slug_ok(owner, project):
        raise NotFound("slug-owner-project-not-exist")
    return {"errors": [], "tool": [tool_detail(services.settings)], "result": True}


#: Routes served as plain Starlette routes ahead of every other: Task/Detail is what each polling
#: client hammers, and FastAPI's per-request machinery (dependency solving, its router) cost more
#: than the whole read. Their APIRoute twins above stay, for the OpenAPI document.
FAST_ROUTES = [Route("/v1/Task/Detail", task_detail, methods=["POST"])]
