"""What routes share: the running services and the authenticated project."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from subject2video.api.auth import Authenticator
from subject2video.api.errors import ApiError
from subject2video.config import Settings
from subject2video.media.storage import LocalStorage, S3Storage
from subject2video.tasks.events import EventHub
from subject2video.tasks.models import Project
from subject2video.tasks.service import TaskService
from subject2video.tasks.store import Store

T = TypeVar("T")


@dataclass
class Services:
    """Everything the API process runs, built once in the app's lifespan."""

    settings: Settings
    store: Store
    hub: EventHub
    tasks: TaskService
    auth: Authenticator
    outputs: LocalStorage | S3Storage
    ready: bool = False

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a store read: on the event loop where reads never block (SQLite in WAL mode),
        else on the thread pool."""
        if self.store.local_reads:
            return fn(*args)
        return await run_in_threadpool(fn, *args)


async def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


async def authorize(request: Request) -> tuple[Services, Project]:
    """The services and the project the request's headers prove.

    Routes call this directly rather than through `Depends`: FastAPI's dependency solving costs
    more than the whole Task/Detail read, and Detail is what every polling client hammers. A cached
    key costs no thread hop either.
    """
    services: Services = request.app.state.services
    if services.auth.needs_io(request.headers):
        return services, await run_in_threadpool(services.auth.authenticate, request.headers)
    return services, services.auth.authenticate(request.headers)


class NoBearer(ApiError):
    """No `Authorization: Bearer <key>` header (each dialect words it its own way)."""

    def __init__(self) -> None:
        super().__init__("no Authorization: Bearer <API key> header", status=401)


class UnknownBearer(ApiError):
    """A Bearer key that opens no project; `shown` is the key masked for the error message."""

    def __init__(self, key: str) -> None:
        super().__init__("invalid api key", status=401)
        self.shown = f"{key[:3]}***{key[-4:]}" if len(key) > 8 else "***"


async def bearer(request: Request) -> tuple[Services, Project]:
    """The services and the project of the request's `Authorization: Bearer <API key>`.

    The dialects of hosted APIs (MiniMax, OpenAI) use a bearer key: for a project that signs its
    Wiro requests, the key alone is accepted there (those APIs have no secret). NoBearer or
    UnknownBearer otherwise.
    """
    services: Services = request.app.state.services
    scheme, _, key = request.headers.get("authorization", "").strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise NoBearer()
    auth = services.auth
    if auth.key_cached(key):
        project = auth.project_for_key(key)
    else:
        project = await run_in_threadpool(auth.project_for_key, key)
    if project is None:
        raise UnknownBearer(key)
    return services, project
