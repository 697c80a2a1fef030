"""What routes share: the running services and the authenticated project."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from subject2video.api.auth import Authenticator
from subject2video.config import Settings
from subject2video.media.storage import LocalStorage
from subject2video.tasks.events import EventHub
from subject2video.tasks.models import Project
from subject2video.tasks.service import TaskService
from subject2video.tasks.store import Store


@dataclass
class Services:
    """Everything the API process runs, built once in the app's lifespan."""

    settings: Settings
    store: Store
    hub: EventHub
    tasks: TaskService
    auth: Authenticator
    outputs: LocalStorage
    ready: bool = False


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_project(request: Request, services: ServicesDep) -> Project:
    return await run_in_threadpool(services.auth.authenticate, request.headers)


ProjectDep = Annotated[Project, Depends(get_project)]
