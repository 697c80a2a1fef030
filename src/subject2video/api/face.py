"""`POST /v1/Face/Detect` (ours): the faces a task would find in an image, before it is run.

The playground marks the subject's face on its preview so that a person sees a wrong photo before
submitting it. It takes the same image fields as Run (an upload `inputImageFirst`, or a URL in
`inputImageFirstUrl`, `inputImageUrl` or `inputImageFirst`), applies the same checks (the guarded
fetcher's rules, the image limits) and the same detector as the task's preprocessing, and answers::

    {"result": true, "errors": [], "width": 512, "height": 512,
     "faces": [{"box": [left, top, right, bottom], "score": 0.906}]}

Faces come largest first; the first is the one a task animates (if it is at least 60 px tall).
`score` is the detector's confidence, 0-1 (MediaPipe's full-range face detector keeps faces from
0.6). No face is an answer, not an error
(`faces: []`); an image that Run's task would refuse is a 400 with the task's own reason. The check
is advisory: the task checks again, so a client that skips this endpoint loses nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from subject2video.api.body import read_fields
from subject2video.api.deps import authorize
from subject2video.api.openapi import RUN_FIELDS, route
from subject2video.contract import IMAGE_PARAM, IMAGE_URL_ALIAS, check_upload, image_url_of
from subject2video.errors import InputError
from subject2video.media.detector import get_detector
from subject2video.media.images import load_image

router = APIRouter(prefix="/v1")
FACE_FIELDS = {k: RUN_FIELDS[k] for k in (IMAGE_PARAM, IMAGE_URL_ALIAS)}


@router.post(
    "/Face/Detect",
    summary="The faces in an image, as a task would find them (ours)",
    openapi_extra=route(FACE_FIELDS, upload=True),
)
async def face_detect(request: Request) -> dict[str, Any]:
    """Detect faces in an uploaded or linked image, with Run's body forms and checks."""
    services, caller = await authorize(request)
    fields, upload = await read_fields(request, services.settings.max_body_bytes)
    url = image_url_of(fields)
    if upload is None and not url:
        raise InputError(f"Request parameter [{IMAGE_PARAM}] required", parameter=IMAGE_PARAM)
    if upload is not None:
        check_upload(len(upload.data))
    if upload is not None:
        data = upload.data
    else:  # the fetch stage, not the shared pool: a trickling host holds only its project
        data = await services.tasks.fetches.fetch(caller.id, url, parameter=IMAGE_PARAM)
    return await run_in_threadpool(_detect, data)


def _detect(data: bytes) -> dict[str, Any]:
    """Decode, check and detect, on a worker thread: all of it blocks (~0.1 s)."""
    image = load_image(data, parameter=IMAGE_PARAM)  # the task's own wording (InputError: 400)
    # The detector takes one request at a time (its own lock); a preview costs 10-300 ms.
    faces = get_detector().detect(image.array)
    return {
        "result": True,
        "errors": [],
        "width": image.width,
        "height": image.height,
        "faces": [{"box": list(face.box), "score": round(face.score, 3)} for face in faces],
    }
