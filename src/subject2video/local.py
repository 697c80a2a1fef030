"""Local runs without the server: a photo and a prompt in, an MP4 out (`s2v generate`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from subject2video.contract import DEFAULT_PROMPT, FPS, FRAMES
from subject2video.engines.base import GenerationRequest, NullContext
from subject2video.engines.registry import create_engine
from subject2video.media.detector import get_detector
from subject2video.media.framing import frame_subject
from subject2video.media.images import load_image
from subject2video.media.video import Mp4Writer, PipelinedWriter, output_size


@dataclass
class LocalResult:
    """What a local run made."""

    path: Path
    frames: int
    seconds: float
    log: list[str] = field(default_factory=list)


def generate_video(
    image: Path,
    prompt: str,
    output: Path,
    *,
    seed: int = 0,
    engine_name: str = "portrait",
    show_progress: bool = True,
    framing: str = "subject",
) -> LocalResult:
    """Run one engine on one photo, as the server would, and write the MP4."""
    started = time.perf_counter()
    loaded = load_image(Path(image).read_bytes(), parameter="image")
    # The box is enough for the portrait engine's face mesh; engines that want dlib's landmarks
    # compute them from it.
    face = get_detector().subject(loaded.array, parameter="image")
    width, height = output_size(loaded.width, loaded.height)
    pixels, notes = loaded.array, []
    if framing == "subject":
        framed = frame_subject(pixels, face, (width, height))
        pixels, face = framed.image, framed.face
        notes.append(framed.note)
    engine = create_engine(engine_name)
    engine.setup()
    request = GenerationRequest(
        image=pixels,
        face=face,
        prompt=prompt or DEFAULT_PROMPT,
        seed=seed,
        width=width,
        height=height,
        fps=FPS,
        frames=FRAMES,
    )
    count = 0
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} frames"),
        TimeRemainingColumn(),
        disable=not show_progress,
        transient=True,
    ) as bar:
        job = bar.add_task(f"{engine.name} engine", total=FRAMES)
        context = NullContext(on_progress=lambda done, _total: bar.update(job, completed=done))
        with PipelinedWriter(Mp4Writer(Path(output), width, height, FPS)) as writer:
            for frame in engine.frames(request, context):
                writer.write(frame)
                count += 1
    return LocalResult(Path(output), count, time.perf_counter() - started, notes + context.lines)
