"""Output files at unguessable URLs: `/v1/File/{output id}/{accesskey}/{name}`, with HTTP Range.

The URL and its accesskey check are ours whatever the storage: local files are served here; S3
objects by a 307 to a short-lived presigned URL, or proxied (`S2V_S3_PRESIGN=false`).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from subject2video.api.deps import ServicesDep
from subject2video.api.errors import NOT_FOUND, ApiError
from subject2video.api.openapi import ENVELOPE
from subject2video.media.storage import S3Storage

router = APIRouter()


_PATH = "/v1/File/{output_id}/{accesskey}/{name}"
_DOC = {
    "responses": {
        "206": {"description": "Part of the file (Range)"},
        "307": {"description": "Redirect to a short-lived presigned URL (S3 storage)"},
        "404": {
            "description": "No such file, a wrong accesskey or name, or expired",
            "content": {"application/json": {"schema": ENVELOPE}},
        },
        "416": {"description": "Range not satisfiable"},
    }
}


@router.get(_PATH, summary="Download an output (supports Range)", openapi_extra=_DOC)
@router.head(
    _PATH, summary="An output's headers", operation_id="output_file_head", openapi_extra=_DOC
)
async def output_file(
    output_id: str, accesskey: str, name: str, request: Request, services: ServicesDep
) -> Response:
    """Serve an output; a wrong accesskey, a wrong name or an expired output is a 404."""
    output = await run_in_threadpool(services.store.output, output_id)
    if (
        output is None
        or not hmac.compare_digest(output.accesskey.encode(), accesskey.encode())
        or output.name != name
        or (output.expiretime is not None and output.expiretime < time.time())
    ):
        raise ApiError("There is no file.", code=NOT_FOUND, status=404)
    if isinstance(services.outputs, S3Storage):
        return await run_in_threadpool(_from_s3, services.outputs, output, request, services)
    path = services.outputs.path(output.key)
    if not path.exists():
        raise ApiError("There is no file.", code=NOT_FOUND, status=404)
    return FileResponse(
        path, media_type=output.contenttype, filename=output.name, content_disposition_type="inline"
    )


def _from_s3(storage: S3Storage, output: Any, request: Request, services: Any) -> Response:
    settings = services.settings
    if settings.s3_presign:
        url = storage.presigned_url(
            output.key,
            content_type=output.contenttype,
            filename=output.name,
            seconds=settings.s3_presign_seconds,
        )
        return RedirectResponse(url, status_code=307)
    try:
        answer = storage.open(output.key, request.headers.get("range"))
    except storage.client.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "InvalidRange":
            return Response(status_code=416)
        raise ApiError("There is no file.", code=NOT_FOUND, status=404) from None
    headers = {
        "content-length": str(answer["ContentLength"]),
        "accept-ranges": "bytes",
        "content-disposition": f'inline; filename="{output.name}"',
    }
    if answer.get("ContentRange"):
        headers["content-range"] = answer["ContentRange"]
    body = answer["Body"]

    def chunks() -> Iterator[bytes]:
        try:
            yield from body.iter_chunks(64 * 1024)
        finally:
            body.close()

    status = 206 if answer.get("ContentRange") else 200
    if request.method == "HEAD":
        body.close()
        return Response(status_code=status, headers=headers, media_type=output.contenttype)
    return StreamingResponse(
        chunks(), status_code=status, headers=headers, media_type=output.contenttype
    )
