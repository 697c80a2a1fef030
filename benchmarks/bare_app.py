"""Baseline of the API benchmark: a bare FastAPI route returning a fixed Detail document."""

from __future__ import annotations

import json
import os
from typing import Any

from fastapi import FastAPI

DOCUMENT: dict[str, Any] = json.loads(os.environ.get("BARE_DOCUMENT", "{}"))

app = FastAPI()


@app.post("/v1/Task/Detail")
async def detail() -> dict[str, Any]:
    return DOCUMENT
