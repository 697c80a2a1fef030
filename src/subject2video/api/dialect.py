"""What a dialect is: one package under api/ that hands the app one `Dialect`.

A dialect holds its routes (parse → one TaskService call → render), its parsing (its names → the
contract), its rendering (task → its wire), its error table and body, its callback or webhook
body (a `CallbackRule`) and its OpenAPI fragment. What every dialect needs is shared and written
once: the caller (deps), the body (body), file serving (files), the error wrapper and cursor pages
(door). No dialect imports another (import-linter checks it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from fastapi import APIRouter, FastAPI
from starlette.routing import BaseRoute

from subject2video.tasks.callbacks import CallbackRule


class Background(Protocol):
    """Work a dialect runs beside the server while it serves (started and stopped with it)."""

    def stop(self) -> None: ...


@dataclass(frozen=True)
class Dialect:
    """One dialect, as the registry lists it."""

    #: Its name, as logs and README say it.
    name: str
    routers: Sequence[APIRouter]
    #: Its callbacks, if a final task of its owes one (tasks/callbacks.py delivers it).
    callback: CallbackRule | None = None
    #: The value its tasks carry in `callback_dialect` (None for Wiro's, as the column has it).
    callback_dialect: str | None = None
    #: Routes served ahead of every other (plain Starlette routes on a hot path).
    fast_routes: Sequence[BaseRoute] = ()
    #: Started with the server, given the services; stopped with it.
    start: Callable[[Any], Background] | None = field(default=None)
    #: How it is added to the app, when more than its routers at the root: a dialect that shares
    #: a path with another also serves every path under a prefix of its own (Replicate's).
    install: Callable[[FastAPI], None] | None = None
