"""The operator's `s2v keys` commands: projects and their API keys, straight in the store."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from subject2video.cli._common import DataDir, PrintJson, load_settings, open_store

keys_app = typer.Typer(help="Manage projects and their API keys.", no_args_is_help=True)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option("--name", help="A name for the project")],
    key_only: Annotated[
        bool, typer.Option("--key-only", help="No secret: x-api-key alone")
    ] = False,
    webhook_url: Annotated[
        str | None,
        typer.Option(
            "--webhook-url",
            help="Where the OpenAI dialect's video.completed / video.failed events go",
        ),
    ] = None,
    as_json: PrintJson = False,
    data_dir: DataDir = None,
) -> None:
    """Create a project and print its API key (and secret, unless --key-only; and the webhook
    secret, with --webhook-url)."""
    if webhook_url is not None and not webhook_url.lower().startswith(("http://", "https://")):
        raise typer.BadParameter("must be an http(s) URL", param_hint="--webhook-url")
    store = open_store(load_settings(data_dir=data_dir))
    project = store.create_project(name, key_only=key_only, webhook_url=webhook_url)
    store.dispose()
    if as_json:
        shown = {"name": project.name, "apikey": project.apikey, "apisecret": project.apisecret}
        if project.webhook_url:
            shown |= {"webhook_url": project.webhook_url, "webhook_secret": project.webhook_secret}
        typer.echo(json.dumps(shown))
    else:
        typer.echo(
            f"name:      {project.name}\napikey:    {project.apikey}\n"
            f"apisecret: {project.apisecret or '(none: key-only project)'}"
        )
        if project.webhook_url:
            typer.echo(f"webhook:   {project.webhook_url}\nwhsecret:  {project.webhook_secret}")


@keys_app.command("list")
def keys_list(as_json: PrintJson = False, data_dir: DataDir = None) -> None:
    """List projects and their API keys (secrets are not shown)."""
    store = open_store(load_settings(data_dir=data_dir))
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
