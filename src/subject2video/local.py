"""Local runs without the server: a photo and a prompt in, an MP4 out (`s2v generate`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from subject2video.contract import RunInput
from subject2video.engines.base import NullContext
from subject2video.engines.registry import create_engine
from subject2video.media.audio import load_audio
from subject2video.media.detector import get_detector
from subject2video.media.images import load_image
from subject2video.tasks.pipeline import prepare, render


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
    seconds: int | None = None,
    size: tuple[int, int] | None = None,
    voice: str | None = None,
    audio: Path | None = None,
    framing: str = "subject",
) -> LocalResult:
    """Run one engine on one photo through the runner's own pipeline (tasks/pipeline.py) and
    write the MP4: `seconds` long (default 6) at `size` (default: the photo's aspect, short side
    720), both within the contract's limits."""
    started = time.perf_counter()
    loaded = load_image(Path(image).read_bytes(), parameter="image")
    run = RunInput(prompt=prompt or None, voice=voice).with_output(seconds=seconds, size=size)
    voice_track = (
        load_audio(Path(audio).read_bytes(), parameter="--audio") if audio is not None else None
    )
    engine = create_engine(engine_name)
    engine.setup()
    # Without --seconds, a speaking video lasts as long as its speech (2-12 s).
    prepared = prepare(
        loaded, run, get_detector(), seed=seed, engine=engine.name, parameter="image",
        voice_track=voice_track, audio_parameter="--audio", follow_speech=seconds is None,
        framing=framing,
    )  # fmt: skip
    request = prepared.request
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} frames"),
        TimeRemainingColumn(),
        disable=not show_progress,
        transient=True,
    ) as bar:
        job = bar.add_task(f"{engine.name} engine", total=request.frames)
        context = NullContext(on_progress=lambda done, _total: bar.update(job, completed=done))
        count = render(engine, request, context, Path(output))
    lines = (prepared.framing, prepared.speech, prepared.note)
    log = [line for line in lines if line] + context.lines
    return LocalResult(Path(output), count, time.perf_counter() - started, log)
