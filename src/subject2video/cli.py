"""The `s2v` command: serve, keys, and the local tools."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Annotated, Any

import typer

from subject2video import MODEL_OWNER, MODEL_PROJECT
from subject2video.config import Settings
from subject2video.errors import ServiceError
from subject2video.logs import configure_logging
from subject2video.tasks.store import Store

app = typer.Typer(
    help="subject2video: a self-hosted subject-to-video service.", no_args_is_help=True
)
keys_app = typer.Typer(help="Manage projects and their API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Where the database, inputs and outputs live [default: ./.s2v]"
    ),
]


def _settings(**overrides: Any) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _store(settings: Settings) -> Store:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(settings.db_url)
    store.create_schema()
    return store


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on [default: 127.0.0.1]")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [default: 8000]")] = None,
    data_dir: DataDir = None,
) -> None:
    """Start the API and a local worker process (the embedded default: no other service needed)."""
    import uvicorn

    from subject2video.api.app import create_app

    settings = _settings(host=host, port=port, data_dir=data_dir)
    configure_logging(settings)
    store = _store(settings)
    projects = store.projects()
    if not projects:
        project = store.create_project("default")
        _print_welcome(settings, project.apikey, project.apisecret)
    store.dispose()
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        ws_max_size=1 << 20,
        timeout_graceful_shutdown=5,
    )


def _print_welcome(settings: Settings, apikey: str, apisecret: str | None) -> None:
    url = settings.base_url
    typer.echo("Created the default project. Keep these; they are shown once:")
    typer.echo(f"  API key:    {apikey}")
    typer.echo(f"  API secret: {apisecret}")
    typer.echo(f"  Server:     {url}")
    example = Path(__file__).resolve().parents[2] / "examples" / "face.jpg"
    image = str(example) if example.exists() else "face.jpg"
    typer.echo("\nYour first video (signature auth, as in Wiro's docs):")
    typer.echo(f"  export YOUR_API_KEY={apikey} YOUR_API_SECRET={apisecret} NONCE=$(date +%s)")
    typer.echo(
        '  export SIGNATURE="$(echo -n "${YOUR_API_SECRET}${NONCE}" | '
        'openssl dgst -sha256 -hmac "${YOUR_API_KEY}")"'
    )
    typer.echo(
        f'  curl -X POST "{url}/v1/Run/{MODEL_OWNER}/{MODEL_PROJECT}" '
        '-H "x-api-key: ${YOUR_API_KEY}" -H "x-nonce: ${NONCE}" '
        '-H "x-signature: ${SIGNATURE}" '
        f"-F inputImageFirst=@{shlex.quote(image)} -F 'prompt=She smiles and turns her head'"
    )
    typer.echo("Then poll Task/Detail with the taskid it returns (see README.md).\n")


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option("--name", help="A name for the project")],
    key_only: Annotated[
        bool, typer.Option("--key-only", help="No secret: x-api-key alone")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    data_dir: DataDir = None,
) -> None:
    """Create a project and print its API key (and secret, unless --key-only)."""
    store = _store(_settings(data_dir=data_dir))
    project = store.create_project(name, key_only=key_only)
    store.dispose()
    if as_json:
        typer.echo(
            json.dumps(
                {"name": project.name, "apikey": project.apikey, "apisecret": project.apisecret}
            )
        )
    else:
        typer.echo(
            f"name:      {project.name}\napikey:    {project.apikey}\n"
            f"apisecret: {project.apisecret or '(none: key-only project)'}"
        )


@keys_app.command("list")
def keys_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    data_dir: DataDir = None,
) -> None:
    """List projects and their API keys (secrets are not shown)."""
    store = _store(_settings(data_dir=data_dir))
    projects = store.projects()
    store.dispose()
    rows = [
        {
            "id": p.id,
            "name": p.name,
            "apikey": p.apikey,
            "auth": "key-only" if p.apisecret is None else "signature",
        }
        for p in projects
    ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for row in rows:
        typer.echo(f"{row['id']:>4}  {row['name']:<20} {row['apikey']}  {row['auth']}")


@app.command()
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
) -> None:
    """Make a video locally, without the server: the photo, the prompt, an MP4."""
    from subject2video.local import generate_video

    settings = _settings(engine=engine)
    configure_logging(settings)
    try:
        result = generate_video(image, prompt, output, seed=seed, engine_name=settings.engine)
    except ServiceError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    for line in result.log:
        typer.echo(line)
    typer.echo(f"wrote {output} ({result.frames} frames) in {result.seconds:.1f} s")


@app.command("eval")
def eval_video(
    video: Annotated[Path, typer.Argument(help="A video from any engine")],
    reference: Annotated[Path, typer.Option("--reference", "-r", help="The input photo")],
    prompt: Annotated[str, typer.Option("--prompt", "-p", help="The prompt it was made from")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    identity_step: Annotated[
        int, typer.Option(min=1, help="Check identity on every N-th frame (1: every frame)")
    ] = 1,
) -> None:
    """Measure a video: identity kept, subject motion, background stillness, prompt adherence."""
    from subject2video.media.images import load_image
    from subject2video.media.video import probe, read_frames
    from subject2video.quality import evaluate, format_report

    try:
        photo = load_image(reference.read_bytes(), parameter="reference").array
        fps = probe(video).fps or 25.0
        report = evaluate(
            read_frames(video), photo, prompt=prompt, fps=fps, identity_step=identity_step
        )
    except ServiceError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(report.to_dict(), indent=2) if as_json else format_report(report))


def main() -> None:
    app()
