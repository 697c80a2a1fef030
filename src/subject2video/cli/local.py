"""The local tools: `s2v generate` and `s2v eval` run on this machine, with no server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from subject2video.cli._common import PrintJson, load_settings
from subject2video.errors import ServiceError
from subject2video.logs import configure_logging


def generate(
    image: Annotated[Path, typer.Argument(help="A photo of a person's face (JPEG, PNG, WebP)")],
    prompt: Annotated[str, typer.Option("--prompt", "-p", help="What the person does")] = "",
    output: Annotated[Path, typer.Option("--output", "-o", help="The MP4 to write")] = Path(
        "out.mp4"
    ),
    seed: Annotated[int, typer.Option(help="The same seed gives the same video")] = 0,
    engine: Annotated[
        str | None, typer.Option(help="Engine name [default: S2V_ENGINE or portrait]")
    ] = None,
    seconds: Annotated[
        int | None, typer.Option(help="Length in seconds, 2 to 12 [default: 6]")
    ] = None,
    size: Annotated[
        str | None,
        typer.Option(help="WIDTHxHEIGHT, e.g. 1280x720 [default: the photo's aspect, 720p]"),
    ] = None,
    say: Annotated[
        str, typer.Option("--say", help='A line the person says (as She says: "...")')
    ] = "",
    audio: Annotated[
        Path | None,
        typer.Option("--audio", help="A voice to lip-sync (WAV, MP3, M4A, OGG; at most 12 s)"),
    ] = None,
    voice: Annotated[str, typer.Option(help="female, male or scottish")] = "",
) -> None:
    """Make a video locally, without the server: the photo, the prompt, an MP4.

    A small face is framed as a medium close-up; S2V_FRAMING=photo keeps the photo's framing."""
    from subject2video.contract import parse_size
    from subject2video.local import generate_video

    settings = load_settings(engine=engine)
    configure_logging(settings)
    if say:
        quote = say.replace('"', "\u201d")
        prompt = f'{prompt.rstrip(". ")}. The person says: "{quote}"'.lstrip(". ")
    try:
        wanted = parse_size(size, "--size") if size else None
        result = generate_video(
            image,
            prompt,
            output,
            seed=seed,
            engine_name=settings.engine,
            seconds=seconds,
            size=wanted,
            voice=voice or None,
            audio=audio,
            framing=settings.framing,
        )
    except ServiceError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    for line in result.log:
        typer.echo(line)
    typer.echo(f"wrote {output} ({result.frames} frames) in {result.seconds:.1f} s")


def eval_video(
    video: Annotated[Path, typer.Argument(help="A video from any engine")],
    reference: Annotated[Path, typer.Option("--reference", "-r", help="The input photo")],
    prompt: Annotated[str, typer.Option("--prompt", "-p", help="The prompt it was made from")] = "",
    as_json: PrintJson = False,
    identity_step: Annotated[
        int, typer.Option(min=1, help="Check identity on every N-th frame (1: every frame)")
    ] = 1,
    sheet: Annotated[
        Path | None, typer.Option(help="Also write a contact sheet (PNG) of frames and faces")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="The seed it was made with: report pose against the plan")
    ] = None,
    line: Annotated[
        str | None,
        typer.Option(help="The words spoken (default: the prompt's quoted lines), for speech"),
    ] = None,
    open_mouth: Annotated[
        list[Path] | None,
        typer.Option(
            help="A real photo with an open mouth, for the sheet's mouth row (repeatable); the "
            "row shows the video's most open mouths beside the reference's and these, enlarged"
        ),
    ] = None,
) -> None:
    """Measure a video: identity kept, subject motion, background stillness, prompt adherence."""
    from subject2video.media.images import load_image
    from subject2video.media.video import probe, read_audio, read_frames
    from subject2video.quality import evaluate, format_report, planned_pose, write_sheet

    try:
        photo = load_image(reference.read_bytes(), parameter="reference").array
        info = probe(video)
        fps = info.fps or 25.0
        asked = None if seed is None else planned_pose(prompt, seed, info.frames, round(fps))
        report = evaluate(
            read_frames(video), photo, prompt=prompt, fps=fps, identity_step=identity_step,
            asked=asked, audio=read_audio(video), line=line,
        )  # fmt: skip
        if sheet is not None:
            mouths = None
            if open_mouth or info.audio_codec:  # a speaking video: its mouths beside real ones
                photos = [(reference.stem, photo)] + [
                    (p.stem, load_image(p.read_bytes(), parameter="--open-mouth").array)
                    for p in open_mouth or []
                ]
                mouths = (read_frames(video), photos)
            write_sheet(read_frames(video), info.frames, sheet, mouths=mouths, report=report)
    except ServiceError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(report.to_dict(), indent=2) if as_json else format_report(report))
