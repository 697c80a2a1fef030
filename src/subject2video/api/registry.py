"""The dialects this server speaks, registered in one place.

A new dialect is one package under api/ (its `DIALECT`) and one line here. Paths that two
dialects share (`GET /v1/models`, `/v1/files/…`) are answered at the root by the first dialect in
`DIALECTS` that serves them; README's "Adding a dialect" says how a dialect also serves them
under a prefix of its own.
"""

from __future__ import annotations

from subject2video.api.dialect import Dialect
from subject2video.api.minimax import DIALECT as MINIMAX
from subject2video.api.openai import DIALECT as OPENAI
from subject2video.api.wiro import DIALECT as WIRO
from subject2video.tasks import callbacks

#: In the order their routes are matched.
DIALECTS: tuple[Dialect, ...] = (WIRO, MINIMAX, OPENAI)


def install_callbacks() -> None:
    """Register every dialect's callback rule (the deliverer renders bodies by them)."""
    for dialect in DIALECTS:
        if dialect.callback is not None:
            callbacks.register(dialect.callback_dialect, dialect.callback)
