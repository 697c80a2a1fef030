"""`Authorization: Bearer <API key>`: the door of the dialects whose clients send one key.

A project's key alone is the whole credential here (projects that sign their Wiro requests are
accepted too): each dialect answers a missing or unknown key in its own words.
"""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from subject2video.api.deps import Services
from subject2video.tasks.models import Project


def bearer_key(request: Request) -> str:
    """The key of the request's `Authorization: Bearer` header ('' if there is none)."""
    scheme, _, key = request.headers.get("authorization", "").strip().partition(" ")
    return key.strip() if scheme.lower() == "bearer" else ""


async def bearer_project(request: Request, key: str) -> tuple[Services, Project | None]:
    """The services and the project `key` opens (None: unknown or revoked); a cached key costs no
    thread hop."""
    services: Services = request.app.state.services
    auth = services.auth
    if auth.key_cached(key):
        return services, auth.project_for_key(key)
    return services, await run_in_threadpool(auth.project_for_key, key)
