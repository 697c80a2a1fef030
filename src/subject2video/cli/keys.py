"""The operator's `s2v keys` commands: projects and their API keys, straight in the store.

create, list, revoke, rotate and re-encrypt; the lifecycle itself is in tasks/keys.py. Each change
is announced (keyring.announce_change): a server on the same data directory, or in scale-out any
API replica on the same Redis, sees it at its next request.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

import typer

from subject2video.cli._common import DataDir, PrintJson, load_settings, open_store
from subject2video.config import Settings
from subject2video.tasks import keys
from subject2video.tasks.keyring import Keyring, KeyringError, announce_change
from subject2video.tasks.store import Store

keys_app = typer.Typer(help="Manage projects and their API keys.", no_args_is_help=True)

KeyRef = Annotated[
    str, typer.Argument(help="The project: its API key (or previous key), id, or unique name")
]


@contextlib.contextmanager
def _keys_store(data_dir: DataDir, *, changes: bool = True) -> Iterator[tuple[Settings, Store]]:
    """The settings and store; errors as one line and exit status 1; the stamp touched after."""
    settings = load_settings(data_dir=data_dir)
    store = open_store(settings)
    try:
        yield settings, store
    except (keys.KeysError, KeyringError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        store.dispose()
    if changes:
        announce_change(settings)


def _keyring(settings: Settings, old_key: str | None = None) -> Keyring:
    try:
        return Keyring.from_settings(settings, old_key=old_key)
    except KeyringError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _credentials(
    name: str, apikey: str, apisecret: str | None, as_json: bool, **more: object
) -> None:
    if as_json:
        typer.echo(json.dumps({"name": name, "apikey": apikey, "apisecret": apisecret, **more}))
    else:
        typer.echo(
            f"name:      {name}\napikey:    {apikey}\n"
            f"apisecret: {apisecret or '(none: key-only project)'}"
        )
        if more.get("webhook_url"):
            typer.echo(f"webhook:   {more['webhook_url']}\nwhsecret:  {more['webhook_secret']}")


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
    with _keys_store(data_dir) as (settings, store):
        project = store.create_project(
            name, key_only=key_only, seal=_keyring(settings).seal, webhook_url=webhook_url
        )
    more = {}
    if project.webhook_url:
        more = {"webhook_url": project.webhook_url, "webhook_secret": project.webhook_secret}
    _credentials(project.name, project.apikey, project.apisecret, as_json, **more)


def _when(stamp: float | None) -> str:
    if not stamp:
        return "never"
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M:%S")


@keys_app.command("list")
def keys_list(as_json: PrintJson = False, data_dir: DataDir = None) -> None:
    """List projects and their keys: created, last used, tasks, state (secrets are not shown).

    "last used" is exact to within the server's key cache (30 s)."""
    with _keys_store(data_dir, changes=False) as (_settings, store):
        rows = keys.rows(store)
    if as_json:
        typer.echo(json.dumps(rows))
        return
    typer.echo(
        f"{'id':>4}  {'name':<16} {'apikey':<32}  {'auth':<9} {'state':<8} "
        f"{'created (UTC)':<19}  {'last used (UTC)':<19}  tasks"
    )
    for row in rows:
        typer.echo(
            f"{row['id']:>4}  {row['name'][:16]:<16} {row['apikey']}  {row['auth']:<9} "
            f"{row['state']:<8} {_when(row['created']):<19}  {_when(row['lastused']):<19}  "
            f"{row['tasks']}"
        )
        if row["state"] == "rotating":
            until = _when(row["previous_until"])
            typer.echo(f"{'':>6}previous key {row['previous_apikey']} accepted until {until}")


@keys_app.command("revoke")
def keys_revoke(ref: KeyRef, data_dir: DataDir = None) -> None:
    """Stop a project's keys now (a previous key, given by its value: that key only).

    A server on this data directory, or a replica on the same Redis (S2V_BROKER_URL), refuses
    them at the next request; one that missed the news, within its key cache's 30 s. The
    project's tasks and outputs stay."""
    with _keys_store(data_dir) as (_settings, store):
        project, what = keys.revoke(store, ref)
    typer.echo(f"project {project.id} ({project.name}): {what}")


@keys_app.command("rotate")
def keys_rotate(
    ref: KeyRef,
    grace: Annotated[
        float,
        typer.Option(min=0, help="Seconds the old key and secret are still accepted"),
    ] = 0.0,
    as_json: PrintJson = False,
    data_dir: DataDir = None,
) -> None:
    """Give a project a new key and secret; the old ones work --grace more seconds."""
    with _keys_store(data_dir) as (settings, store):
        rotated = keys.rotate(store, _keyring(settings), ref, grace=grace)
    _credentials(
        rotated.project.name,
        rotated.apikey,
        rotated.apisecret,
        as_json,
        previous_until=rotated.previous_until,
    )
    if not as_json:
        until = _when(rotated.previous_until) if rotated.previous_until else "now (refused)"
        typer.echo(f"old key:   accepted until {until}")


@keys_app.command("re-encrypt")
def keys_reencrypt(
    old_master_key: Annotated[
        str | None,
        typer.Option(
            envvar="S2V_OLD_MASTER_KEY", help="The master key that sealed them, if not the current"
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Seal every secret at rest (API secrets, previous ones, webhook secrets, task tokens, output
    access keys, rendered callback bodies) with S2V_MASTER_KEY (unset: store them in clear
    again); exit 1 naming any that is left."""
    with _keys_store(data_dir) as (settings, store):
        keyring = _keyring(settings, old_master_key)
        changed = keys.reencrypt(store, keyring)
        stored = keys.stored_counts(store)
    sealed = "sealed with S2V_MASTER_KEY" if keyring.sealing else "stored in clear"
    what = f" ({keys.counted(changed)})" if any(changed.values()) else ""
    typer.echo(
        f"{sum(changed.values())} secrets re-written{what}; all {sum(stored.values())} stored "
        f"secrets ({keys.counted(stored)}) are now {sealed}"
    )
