"""The dialects this server speaks, registered in one place.

A new dialect is one package under api/ (its `DIALECT`) and one line here. Paths that two
dialects share (`GET /v1/models`: OpenAI's at the root; `/v1/files/…`: MiniMax's `retrieve` at
the root) are answered at the root by the first dialect in `DIALECTS` that serves them; the later
one also serves every path under a prefix of its own (Replicate's `/replicate/v1/…`).
"""

from __future__ import annotations

from subject2video.api.dialect import Dialect
from subject2video.api.minimax import DIALECT as MINIMAX
from subject2video.api.openai import DIALECT as OPENAI
from subject2video.api.replicate import DIALECT as REPLICATE
from subject2video.api.wiro import DIALECT as WIRO
from subject2video.tasks import callbacks

#: In the order their routes are matched.
DIALECTS: tuple[Dialect, ...] = (WIRO, MINIMAX, OPENAI, REPLICATE)


def install_callbacks() -> None:
    """Register every dialect's callback rule (the deliverer renders bodies by them)."""
    for dialect in DIALECTS:
        if dialect.callback is not None:
            callbacks.register(dialect.callback_dialect, dialect.callback)
