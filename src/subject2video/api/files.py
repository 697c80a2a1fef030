"""Output files at unguessable URLs: `/v1/File/{output id}/{accesskey}/{name}`, with HTTP Range.

The URL and its accesskey check are ours whatever the storage: local files are served here; S3
objects by a 307 to a short-lived presigned URL, or proxied (`S2V_S3_PRESIGN=false`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from subject2video.api.deps import Services, ServicesDep
from subject2video.api.errors import NOT_FOUND, ApiError
from subject2video.api.openapi import ENVELOPE
from subject2video.errors import NotFound
from subject2video.media.storage import S3Storage
from subject2video.tasks.keyring import Keyring

router = APIRouter()


@dataclass(frozen=True)
class OutputLinks:
    """How every dialect writes an output's download URL: the server's base URL, and the output's
    access key in clear (the store keeps it sealed with S2V_MASTER_KEY: `accesskey` opens it)."""

    base_url: str
    accesskey: Callable[[Any], str]

    @classmethod
    def of(cls, services: Services) -> OutputLinks:
        """The API's links: keys opened by the task service (each opened once)."""
        return cls(services.settings.base_url, services.tasks.accesskey_of)

    @classmethod
    def opened_by(cls, base_url: str, keyring: Keyring) -> OutputLinks:
        """Links whose keys `keyring` opens (where callbacks are rendered)."""
        return cls(base_url, lambda output: keyring.open(output.accesskey) or "")

    def url(self, output: Any) -> str:
        """An output's download URL (it carries the access key)."""
        return f"{self.base_url}/v1/File/{output.id}/{self.accesskey(output)}/{output.name}"


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
    try:
        output = await run_in_threadpool(
            services.tasks.file, output_id, accesskey=accesskey, name=name
        )
    except NotFound:
        raise ApiError("There is no file.", code=NOT_FOUND, status=404) from None
    answer = await serve_output(services, output, request)
    if answer is None:
        raise ApiError("There is no file.", code=NOT_FOUND, status=404)
    return answer


async def serve_output(
    services: Services,
    output: Any,
    request: Request,
    *,
    filename: str | None = None,
    inline: bool = True,
    presign: bool = True,
) -> Response | None:
    """An output's bytes, for any dialect: a local file with HTTP Range; an S3 object by a 307 to
    a presigned URL (`presign` and S2V_S3_PRESIGN), else proxied with Range. None when its file is
    gone. The caller has checked who may read it and that it is live (TaskService.file)."""
    if isinstance(services.outputs, S3Storage):
        storage = services.outputs
        return await run_in_threadpool(_from_s3, storage, output, request, services, presign)
    path = services.outputs.path(output.key)
    if not path.exists():
        return None
    return FileResponse(
        path,
        media_type=output.contenttype,
        filename=filename or output.name,
        content_disposition_type="inline" if inline else "attachment",
    )


def _from_s3(
    storage: S3Storage, output: Any, request: Request, services: Any, presign: bool
) -> Response:
    settings = services.settings
    if presign and settings.s3_presign:
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
