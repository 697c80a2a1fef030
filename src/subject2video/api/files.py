"""Output files at unguessable URLs: `/v1/File/{output id}/{accesskey}/{name}`, with HTTP Range."""

from __future__ import annotations

import hmac
import time

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from subject2video.api.deps import ServicesDep
from subject2video.api.errors import NOT_FOUND, ApiError

router = APIRouter()


@router.api_route(
    "/v1/File/{output_id}/{accesskey}/{name}",
    methods=["GET", "HEAD"],
    summary="Download an output (supports Range)",
)
async def output_file(
    output_id: str, accesskey: str, name: str, services: ServicesDep
) -> FileResponse:
    """Serve an output; a wrong accesskey, a wrong name or an expired output is a 404."""
    output = await run_in_threadpool(services.store.output, output_id)
    if (
        output is None
        or not hmac.compare_digest(output.accesskey.encode(), accesskey.encode())
        or output.name != name
        or (output.expiretime is not None and output.expiretime < time.time())
    ):
        raise ApiError("There is no file.", code=NOT_FOUND, status=404)
    path = services.outputs.path(output.key)
    if not path.exists():
        raise ApiError("There is no file.", code=NOT_FOUND, status=404)
    return FileResponse(
        path, media_type=output.contenttype, filename=output.name, content_disposition_type="inline"
    )
