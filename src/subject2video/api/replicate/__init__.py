"""The Replicate dialect: Replicate's HTTP API for MiniMax's models, served from our task system.

| method, path                                  | does                                         |
|-----------------------------------------------|----------------------------------------------|
| POST /v1/models/{owner}/{name}/predictions    | a prediction of a served model (models.py)   |
| POST /v1/predictions                          | the same, naming a `version`                 |
| GET  /v1/predictions/{id}                     | one prediction                               |
| GET  /v1/predictions                          | the project's predictions, newest first      |
| POST /v1/predictions/{id}/cancel              | stops it at any status before the end        |
| GET  /v1/models/{owner}/{name}                | a served model (and /versions/{id})          |
| POST, GET /v1/files; GET, DELETE /v1/files/{id} | the Files API: photos to pass as inputs    |
| GET  /v1/webhooks/default/secret              | the `whsec_` secret webhooks are signed with |
| GET  /replicate/v1/models                     | the served models (`results`)                |

Every route is served at the root and again under /replicate. Two paths are shared with other
dialects, and the root keeps their first owner: `GET /v1/models` is OpenAI's list (Replicate's is
at /replicate/v1/models), and `GET /v1/files/retrieve` is MiniMax's (every other file id is
Replicate's; /replicate/v1/files/... is only Replicate's).

Choices (ours, where Replicate's documentation does not reach a self-hosted server):
- Auth is `Authorization: Bearer <API key>` (a project's key from `s2v keys`), the whole
  credential here, as in the MiniMax and OpenAI dialects.
- A prediction's id is our task id; every task of the project is a prediction here, whichever
  dialect made it. `output` is the MP4's URL; over plain http the Python client returns it as a
  string.
- Webhooks: `start`, `logs` (once), `output` and `completed`, per `webhook_events_filter`
  (webhooks.py).

A newcomer's map of the package: models.py (what is served, under which input names), request.py
(a body → our RunInput), wire.py (a task → a prediction; errors), files.py (the Files API),
webhooks.py (the webhooks), openapi.py (the fragment the routes publish), routes.py.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from subject2video.api.dialect import Dialect
from subject2video.api.replicate.models import DIALECT as NAME
from subject2video.api.replicate.routes import router, shared
from subject2video.api.replicate.webhooks import ReplicateEvents, ReplicateWebhook

PREFIX = "/replicate"


def install(app: FastAPI) -> None:
    """Serve the dialect: its own paths at the root, every path under PREFIX. Listed after the
    dialects that own the shared paths at the root (their fixed paths win over `{file_id}`)."""
    app.include_router(router)
    app.include_router(router, prefix=PREFIX, include_in_schema=False)  # documented once
    app.include_router(shared, prefix=PREFIX)


def _start(services: Any) -> ReplicateEvents:
    """Record the `start`, `logs` and `output` webhooks as the hub's events come."""
    events = ReplicateEvents(services, NAME)
    services.hub.add_listener(events.on_event)
    return events


DIALECT = Dialect(
    name=NAME,
    routers=(router,),
    callback=ReplicateWebhook(),
    callback_dialect=NAME,
    start=_start,
    install=install,
)
