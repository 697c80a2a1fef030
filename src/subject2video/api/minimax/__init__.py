"""MiniMax's dialect: video_generation, its query, files/retrieve, and MiniMax's callbacks (a
challenge handshake, then the query body on each status change)."""

from __future__ import annotations

from typing import Any

from subject2video.api.dialect import Dialect
from subject2video.api.minimax import routes
from subject2video.api.minimax.callbacks import MinimaxCallbacks


def _start(services: Any) -> MinimaxCallbacks:
    sender = MinimaxCallbacks(services.settings, services.store, routes.query_body)
    services.hub.add_listener(sender.on_event)
    sender.start()
    return sender


DIALECT = Dialect(
    name=routes.DIALECT,
    routers=(routes.router,),
    callback_dialect=routes.DIALECT,
    start=_start,
)
