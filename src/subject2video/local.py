"""Local runs without the server: a photo and a prompt in, an MP4 out (`s2v generate`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from subject2video.contract import RunInput
from subject2video.engines.base import NullContext
from subject2video.engines.registry import create_engine
from subject2video.media.faces import get_analyzer
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
) -> LocalResult:
    """Run one engine on one photo through the runner's own pipeline (tasks/pipeline.py) and
    write the MP4: `seconds` long (default 6) at `size` (default: the photo's aspect, short side
    720), both within the contract's limits."""
    started = time.perf_counter()
    loaded = load_image(Path(image).read_bytes(), parameter="image")
    run = RunInput(prompt=prompt or None).with_output(seconds=seconds, size=size)
    engine = create_engine(engine_name)
    engine.setup()
    prepared = prepare(
        loaded, run, get_analyzer(), seed=seed, engine=engine.name, parameter="image"
    )
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
    log = [line for line in (prepared.framing, prepared.note) if line] + context.lines
    return LocalResult(Path(output), count, time.perf_counter() - started, log)
