"""What the OpenAI dialect makes of a finished video: its downloads, and a remix's input.

- `video`: the MP4 as stored.
- `thumbnail`: the middle frame, as WebP, at the video's size.
- `spritesheet`: 10 frames evenly spaced through the video, 5 by 2, each 256 px wide, as JPEG.
Thumbnails and spritesheets are made from the MP4 on request (the MP4 is the one stored output).
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from fastapi import Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from subject2video.api.deps import Services
from subject2video.api.files import serve_output
from subject2video.api.openai.wire import status_of, video_id
from subject2video.errors import Conflict, NotFound
from subject2video.media.storage import LocalStorage
from subject2video.tasks.service import is_live

VARIANTS = ("video", "thumbnail", "spritesheet")
SHEET_COLUMNS, SHEET_ROWS, SHEET_WIDTH = 5, 2, 256


async def content(
    services: Services, task: Any, outputs: list[Any], variant: str, request: Request
) -> Response:
    """One download of a completed video: the MP4 by the shared file serving (Range), or a
    thumbnail or spritesheet made from it."""
    output = _output(task, outputs)
    if variant == "video":
        answer = await serve_output(
            services, output, request, filename="video.mp4", inline=False, presign=False
        )
        if answer is None:
            raise NotFound(f"Video {video_id(task.id)} has no content: its file is gone")
        return answer
    return await run_in_threadpool(_picture, services, output, variant)


def _output(task: Any, outputs: list[Any]) -> Any:
    """The video's live output (Conflict until it completed; NotFound once deleted)."""
    shown = status_of(task)
    if shown != "completed":
        raise Conflict(
            f"Video {video_id(task.id)} is {shown}; its content can be downloaded once its "
            "status is completed"
        )
    output = outputs[0] if outputs else None
    if output is None or not is_live(output):
        raise NotFound(f"Video {video_id(task.id)} has no content: it was deleted or expired")
    return output


def _picture(services: Services, output: Any, variant: str) -> Response:
    storage = services.outputs
    with tempfile.TemporaryDirectory(prefix="s2v-content-") as tmp:
        if isinstance(storage, LocalStorage):
            path = storage.path(output.key)
        else:
            path = Path(tmp) / "video.mp4"
            path.write_bytes(storage.read(output.key))
        frames = _frames(path, 1 if variant == "thumbnail" else SHEET_COLUMNS * SHEET_ROWS)
    if variant == "thumbnail":
        return Response(_encode(frames[0], ".webp"), media_type="image/webp")
    return Response(_encode(_sheet(frames), ".jpg"), media_type="image/jpeg")


def _frames(path: Path, count: int) -> list[np.ndarray]:
    """`count` RGB frames evenly spaced through the video (one: the middle frame)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        total = stream.frames or 1
        wanted = (
            [total // 2]
            if count == 1
            else sorted({round(i * (total - 1) / (count - 1)) for i in range(count)})
        )
        picked: list[np.ndarray] = []
        for index, frame in enumerate(container.decode(stream)):
            if index in wanted:
                picked.append(frame.to_ndarray(format="rgb24"))
                if len(picked) == len(wanted):
                    break
    if not picked:
        raise NotFound("the video has no frames to show")
    return picked


def _sheet(frames: list[np.ndarray]) -> np.ndarray:
    h, w = frames[0].shape[:2]
    tile = (SHEET_WIDTH, max(2, round(h * SHEET_WIDTH / w)))
    tiles = [cv2.resize(f, tile, interpolation=cv2.INTER_AREA) for f in frames]
    while len(tiles) < SHEET_COLUMNS * SHEET_ROWS:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [
        np.hstack(tiles[r * SHEET_COLUMNS : (r + 1) * SHEET_COLUMNS]) for r in range(SHEET_ROWS)
    ]
    return np.vstack(rows)


def _encode(rgb: np.ndarray, suffix: str) -> bytes:
    ok, data = cv2.imencode(suffix, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise RuntimeError(f"could not encode {suffix}")
    return io.BytesIO(data.tobytes()).getvalue()
