"""Wiro's dialect: Run, Task/*, Tool/Detail, the `/v1` WebSocket, and the signed Detail
callback. Its envelope (api/errors.py) is also the server's default error body."""

from __future__ import annotations

from subject2video.api.dialect import Dialect
from subject2video.api.wiro import routes, socket
from subject2video.api.wiro.callbacks import WiroCallback

DIALECT = Dialect(
    name="wiro",
    routers=(routes.router, socket.router),
    callback=WiroCallback(),
    callback_dialect=None,
    fast_routes=tuple(routes.FAST_ROUTES),
)
