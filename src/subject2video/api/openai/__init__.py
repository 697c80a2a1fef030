"""OpenAI's Videos dialect: /v1/videos, /v1/models, and `video.*` webhooks (Standard Webhooks)."""

from __future__ import annotations

from subject2video.api.dialect import Dialect
from subject2video.api.openai import routes
from subject2video.api.openai.webhooks import DIALECT as NAME
from subject2video.api.openai.webhooks import OpenAIWebhook

DIALECT = Dialect(
    name=NAME,
    routers=(routes.router,),
    callback=OpenAIWebhook(),
    callback_dialect=NAME,
)
