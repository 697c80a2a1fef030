"""The client's commands `s2v run`, `s2v task` and `s2v tool`, for this server or the hosted API.

Their shared options (`--base-url`, `--api-key`, `--api-secret`, `--json`) live in `_common`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from subject2video.cli._common import (
    DEFAULT_MODEL,
    LOCAL_URL,
    ApiKey,
    ApiSecret,
    AsJson,
    BaseUrl,
    TaskArg,
    remote_client,
)

if TYPE_CHECKING:
    from subject2video.client import Client, RunResult, Task

task_app = typer.Typer(help="Tasks on a server (this one or the hosted API).", no_args_is_help=True)
tool_app = typer.Typer(help="A model's description and parameters.", no_args_is_help=True)


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
    with remote_client(base_url, api_key, api_secret) as client:
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


# -- s2v task ----------------------------------------------------------------------------------


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
    with remote_client(base_url, api_key, api_secret) as client:
        task = getattr(client, action)(ref)
    typer.echo(json.dumps(task.raw) if as_json else _describe(task))


def _task_command(action: str, doc: str) -> Callable[..., None]:
    """A `s2v task <verb> TASK` command calling the client's `action` on one task."""

    def command(
        task: TaskArg,
        base_url: BaseUrl = LOCAL_URL,
        api_key: ApiKey = None,
        api_secret: ApiSecret = None,
        as_json: AsJson = False,
    ) -> None:
        _task_call(action, task, base_url, api_key, api_secret, as_json)

    command.__doc__ = doc
    return command


for _name, _action, _doc in (
    ("show", "detail", "Show one task (Task/Detail)."),
    ("cancel", "cancel", "Cancel a task that has not started (Task/Cancel)."),
    ("kill", "kill", "Stop a task at any non-final status (Task/Kill)."),
):
    task_app.command(_name)(_task_command(_action, _doc))


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
    with remote_client(base_url, api_key, api_secret) as client:
        tasks = client.list_tasks(start=start, limit=limit, status=status)
    if as_json:
        typer.echo(json.dumps([t.raw for t in tasks]))
        return
    for t in tasks:
        created = t.createtime.strftime("%Y-%m-%d %H:%M:%S") if t.createtime else "-"
        pexit = "" if t.pexit is None else f"pexit {t.pexit}"
        typer.echo(f"{t.id:>8}  {created}  {t.status!s:<24} {pexit}")


# -- s2v tool ----------------------------------------------------------------------------------


@tool_app.command("show")
def tool_show(
    slug: Annotated[str, typer.Argument(help="owner/project")] = DEFAULT_MODEL,
    base_url: BaseUrl = LOCAL_URL,
    api_key: ApiKey = None,
    api_secret: ApiSecret = None,
    as_json: AsJson = False,
) -> None:
    """Show a model's description and parameters (Tool/Detail)."""
    with remote_client(base_url, api_key, api_secret) as client:
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
