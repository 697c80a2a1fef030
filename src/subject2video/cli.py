"""The `s2v` command: serve, keys, the local tools, and the client (run, task, tool)."""

from __future__ import annotations

import contextlib
import json
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

import typer

from subject2video import MODEL_OWNER, MODEL_PROJECT
from subject2video.config import Settings
from subject2video.errors import ServiceError
from subject2video.logs import configure_logging
from subject2video.tasks.store import Store

if TYPE_CHECKING:
    from subject2video.client import Client, RunResult, Task

app = typer.Typer(
    help="subject2video: a self-hosted subject-to-video service.", no_args_is_help=True
)
keys_app = typer.Typer(help="Manage projects and their API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
task_app = typer.Typer(help="Tasks on a server (this one or the hosted API).", no_args_is_help=True)
app.add_typer(task_app, name="task")
db_app = typer.Typer(help="The task store's schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
tool_app = typer.Typer(help="A model's description and parameters.", no_args_is_help=True)
app.add_typer(tool_app, name="tool")

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
    """Start the API and a local worker process (the embedded default: no other service needed).

    With S2V_BROKER_URL set, start the API only: `s2v worker` processes run the tasks."""
    import uvicorn

    from subject2video.api.app import create_app

    settings = _settings(host=host, port=port, data_dir=data_dir)
    configure_logging(settings)
    store = _store(settings)
    projects = store.projects()
    # Scale-out replicas start together: projects come from `s2v keys create` there.
    if not projects and not settings.broker_url:
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
    typer.echo(f"  Playground: {playground_url(url, apikey, apisecret)}")
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


@app.command()
def worker(
    concurrency: Annotated[
        int, typer.Option(help="Tasks at a time: 1 (one worker process per GPU)", min=1, max=1)
    ] = 1,
    queues: Annotated[
        str | None,
        typer.Option(help="Comma-separated queues [default: s2v.<S2V_ENGINE>]"),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Run tasks from the broker (S2V_BROKER_URL): one at a time, engine loaded once."""
    from subject2video.tasks.dispatch.celery_worker import worker_main

    settings = _settings(data_dir=data_dir)
    if not settings.broker_url:
        typer.echo("error: set S2V_BROKER_URL (e.g. redis://host:6379/0) to run a worker", err=True)
        raise typer.Exit(2)
    configure_logging(settings)
    _store(settings).dispose()
    names = [q.strip() for q in (queues or "").split(",") if q.strip()]
    worker_main(settings, names or None)


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None) -> None:
    """Create or migrate the store's tables to the newest schema (SQLite or PostgreSQL)."""
    settings = _settings(data_dir=data_dir)
    _store(settings).dispose()
    typer.echo(f"store at the newest schema: {_redact(settings.db_url)}")


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def playground_url(base_url: str, apikey: str, apisecret: str | None) -> str:
    """The playground's address, signed in: the credentials ride in the fragment, which a
    browser never sends to a server."""
    fragment = {"key": apikey, **({"secret": apisecret} if apisecret else {})}
    return f"{base_url}/#{urlencode(fragment)}"


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


# -- the client commands: run, task, tool ------------------------------------------------------

DEFAULT_MODEL = f"{MODEL_OWNER}/{MODEL_PROJECT}"
BaseUrl = Annotated[
    str,
    typer.Option(
        "--base-url", envvar="S2V_BASE_URL", help="The server (hosted: https://api.wiro.ai)"
    ),
]
ApiKey = Annotated[
    str | None, typer.Option("--api-key", envvar="WIRO_API_KEY", help="The project's API key")
]
ApiSecret = Annotated[
    str | None,
    typer.Option("--api-secret", envvar="WIRO_API_SECRET", help="Its secret (signature projects)"),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print the wire's JSON")]
TaskArg = Annotated[str, typer.Argument(help="Task id or socket access token")]
LOCAL_URL = "http://127.0.0.1:8000"


def _client(base_url: str, api_key: str | None, api_secret: str | None) -> Client:
    from subject2video.client import Client, Config

    if not api_key:
        typer.echo("error: an API key is needed: set WIRO_API_KEY or pass --api-key", err=True)
        raise typer.Exit(2)
    return Client(config=Config(base_url=base_url, api_key=api_key, api_secret=api_secret or None))


@contextlib.contextmanager
def _client_errors() -> Iterator[None]:
    """Errors of the client leave as one line on stderr and exit status 1."""
    from subject2video.client import ClientError

    try:
        yield
    except ClientError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@app.command("run")
def run_command(
    image: Annotated[str, typer.Argument(help="A local image file or an http(s) URL")],
    prompt: Annotated[str | None, typer.Option("--prompt", "-p", help="What should happen")] = None,
    model: Annotated[str, typer.Option("--model", help="owner/project slug")] = DEFAULT_MODEL,
    base_url: BaseUrl = LOCAL_URL,
    api_key: ApiKey = None,
    api_secret: ApiSecret = None,
    out_dir: Annotated[
        Path, typer.Option("-o", "--output-dir", help="Where the video goes")
    ] = Path(),
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Print the task and exit")] = False,
    as_json: AsJson = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the task")] = 900.0,
    seed: Annotated[int | None, typer.Option(help="Same seed, same video")] = None,
    callback_url: Annotated[str | None, typer.Option(help="POSTed to when the task ends")] = None,
) -> None:
    """Make a video: submit, follow its progress, download it and print its path.

    Ctrl-C kills the task on the server before exiting.
    """
    with _client(base_url, api_key, api_secret) as client, _client_errors():
        result = client.run(model, image=image, prompt=prompt, callback_url=callback_url, seed=seed)
        if no_wait:
            typer.echo(json.dumps(result.raw) if as_json else f"{result.taskid}")
            return
        try:
            task = _follow(client, result, timeout)
        except KeyboardInterrupt:
            _kill(client, result)
            raise typer.Exit(130) from None
        if not task.succeeded:
            if as_json:
                typer.echo(json.dumps({"task": task.raw, "files": []}))
            reason = "cancelled" if task.cancelled else task.debugerror or "failed"
            typer.echo(f"error: task {task.id} {reason}", err=True)
            raise typer.Exit(1)
        paths = client.download(task, out_dir)
        if as_json:
            typer.echo(json.dumps({"task": task.raw, "files": [str(p) for p in paths]}))
        else:
            for path in paths:
                typer.echo(str(path))


def _follow(client: Client, result: RunResult, timeout: float) -> Task:
    """Follow the task's events with a progress bar on stderr; the task once final."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn())
    task: Task | None = None
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=False) as bar:
        line = bar.add_task(f"task {result.taskid}: task_queue", total=100)
        last = ""
        for event in client.events(result, timeout):
            status = str(event.type)
            progress = event.progress
            bar.update(line, description=f"task {result.taskid}: {status}")
            if progress is not None:
                bar.update(line, completed=progress.percentage)
            if not console.is_terminal and status != last:
                console.print(f"task {result.taskid}: {status}", highlight=False)
            last = status
            task = event.task or task
        if task is None or not task.is_final:
            task = client.detail(result)
        if task.succeeded:
            bar.update(line, completed=100)
    return task


def _kill(client: Client, result: RunResult) -> None:
    """Ask the server to stop the task (Ctrl-C); a task already final is left as it is."""
    from subject2video.client import ClientError

    try:
        task = client.kill(result)
        typer.echo(f"\ninterrupted: task {task.id} killed ({task.status})", err=True)
    except ClientError as exc:
        typer.echo(f"\ninterrupted: task {result.taskid} not killed: {exc}", err=True)


def _describe(task: Task) -> str:
    lines = [
        f"task {task.id}  {task.status}"
        + (f"  pexit {task.pexit}" if task.pexit is not None else ""),
        f"  token     {task.socketaccesstoken}",
        f"  model     {task.modelslugowner}/{task.modelslugproject}",
        f"  created   {task.createtime.isoformat() if task.createtime else '-'}",
        f"  elapsed   {task.elapsedseconds or 0:.1f} s",
    ]
    if task.progress is not None and not task.is_final:
        lines.append(f"  progress  {task.progress.percentage:.0f}%")
    if task.debugerror:
        lines.append(f"  error     {task.debugerror}")
    lines += [f"  output    {o.url}  ({o.size} bytes)" for o in task.outputs]
    return "\n".join(lines)


def _task_call(
    action: str, ref: str, base_url: str, api_key: str | None, api_secret: str | None, as_json: bool
) -> None:
    with _client(base_url, api_key, api_secret) as client, _client_errors():
        task = getattr(client, action)(ref)
    typer.echo(json.dumps(task.raw) if as_json else _describe(task))


@task_app.command("show")
def task_show(
    task: TaskArg,
    base_url: BaseUrl = LOCAL_URL,
    api_key: ApiKey = None,
    api_secret: ApiSecret = None,
    as_json: AsJson = False,
) -> None:
    """Show one task (Task/Detail)."""
    _task_call("detail", task, base_url, api_key, api_secret, as_json)


@task_app.command("cancel")
def task_cancel(
    task: TaskArg,
    base_url: BaseUrl = LOCAL_URL,
    api_key: ApiKey = None,
    api_secret: ApiSecret = None,
    as_json: AsJson = False,
) -> None:
    """Cancel a task that has not started (Task/Cancel)."""
    _task_call("cancel", task, base_url, api_key, api_secret, as_json)


@task_app.command("kill")
def task_kill(
    task: TaskArg,
    base_url: BaseUrl = LOCAL_URL,
    api_key: ApiKey = None,
    api_secret: ApiSecret = None,
    as_json: AsJson = False,
) -> None:
    """Stop a task at any non-final status (Task/Kill)."""
    _task_call("kill", task, base_url, api_key, api_secret, as_json)


@task_app.command("list")
def task_list(
    limit: Annotated[int, typer.Option(help="At most this many")] = 20,
    start: Annotated[int, typer.Option(help="Skip this many")] = 0,
    status: Annotated[
        str | None, typer.Option(help="Only these statuses (comma-separated)")
    ] = None,
    base_url: BaseUrl = LOCAL_URL,
    api_key: ApiKey = None,
    api_secret: ApiSecret = None,
    as_json: AsJson = False,
) -> None:
    """List this project's tasks, newest first (Task/List)."""
    with _client(base_url, api_key, api_secret) as client, _client_errors():
        tasks = client.list_tasks(start=start, limit=limit, status=status)
    if as_json:
        typer.echo(json.dumps([t.raw for t in tasks]))
        return
    for t in tasks:
        created = t.createtime.strftime("%Y-%m-%d %H:%M:%S") if t.createtime else "-"
        pexit = "" if t.pexit is None else f"pexit {t.pexit}"
        typer.echo(f"{t.id:>8}  {created}  {t.status!s:<24} {pexit}")


@tool_app.command("show")
def tool_show(
    slug: Annotated[str, typer.Argument(help="owner/project")] = DEFAULT_MODEL,
    base_url: BaseUrl = LOCAL_URL,
    api_key: ApiKey = None,
    api_secret: ApiSecret = None,
    as_json: AsJson = False,
) -> None:
    """Show a model's description and parameters (Tool/Detail)."""
    with _client(base_url, api_key, api_secret) as client, _client_errors():
        tool = client.tool_detail(slug)
    if as_json:
        typer.echo(json.dumps(tool))
        return
    typer.echo(f"{tool.get('slugowner', '')}/{tool.get('slugproject', '')}")
    if tool.get("description"):
        typer.echo(f"  {tool['description']}")
    for param in tool.get("parameters") or []:
        required = " (required)" if param.get("required") else ""
        default = str(param.get("default") or "")
        default = f"  default: {default[:60]}{'…' if len(default) > 60 else ''}" if default else ""
        typer.echo(f"  {param.get('name')}: {param.get('type')}{required}{default}")


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
    sheet: Annotated[
        Path | None, typer.Option(help="Also write a contact sheet (PNG) of frames and faces")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="The seed it was made with: report pose against the plan")
    ] = None,
) -> None:
    """Measure a video: identity kept, subject motion, background stillness, prompt adherence."""
    from subject2video.media.images import load_image
    from subject2video.media.video import probe, read_frames
    from subject2video.quality import evaluate, format_report, planned_pose, write_sheet

    try:
        photo = load_image(reference.read_bytes(), parameter="reference").array
        info = probe(video)
        fps = info.fps or 25.0
        asked = None if seed is None else planned_pose(prompt, seed, info.frames, round(fps))
        report = evaluate(
            read_frames(video), photo, prompt=prompt, fps=fps, identity_step=identity_step,
            asked=asked,
        )  # fmt: skip
        if sheet is not None:
            write_sheet(read_frames(video), info.frames, sheet)
    except ServiceError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(report.to_dict(), indent=2) if as_json else format_report(report))


def main() -> None:
    app()
