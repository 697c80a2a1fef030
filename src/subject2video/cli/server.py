"""The operator's commands: `s2v serve`, `s2v worker` and `s2v db`."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlencode

import typer

from subject2video import MODEL_OWNER, MODEL_PROJECT
from subject2video.cli._common import DataDir, load_settings, open_store
from subject2video.config import Settings
from subject2video.contract import UPLOAD_PARAM
from subject2video.logs import configure_logging

if TYPE_CHECKING:
    from subject2video.tasks.backup import Report

db_app = typer.Typer(help="The task store: schema, backup, restore.", no_args_is_help=True)


def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on [default: 127.0.0.1]")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [default: 8000]")] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=256,
            help="Engine processes, one task each [default: S2V_WORKERS, else the engine's: "
            "cores / its cores per task, or one per visible GPU]",
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Start the API and local worker processes (the embedded default: no other service needed).

    With S2V_BROKER_URL set, start the API only: `s2v worker` processes run the tasks.
    SIGTERM, SIGINT or SIGHUP stop it gracefully (S2V_STOP_GRACE_SECONDS); a second, at once."""
    from subject2video.api.app import create_app
    from subject2video.api.serving import DataDirBusy, lock_data_dir, serve

    settings = load_settings(host=host, port=port, data_dir=data_dir, workers=workers)
    from subject2video.tasks.keyring import Keyring, KeyringError

    configure_logging(settings)
    lock = None
    if not settings.broker_url:  # one local worker per SQLite file and work directory
        try:
            lock = lock_data_dir(settings.data_dir)
        except DataDirBusy as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
    store = open_store(settings)
    projects = store.projects()
    try:
        keyring = Keyring.from_settings(settings)
        for stored in projects:  # fail here, not at each signed request, if they cannot be read
            keyring.open(stored.apisecret)
            keyring.open(stored.webhook_secret)
        keyring.open(store.newest_sealed_token())  # and the tasks' tokens (Wiro's Detail)
        keyring.open(store.newest_sealed_accesskey())  # and the outputs' URLs (every dialect)
    except KeyringError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    # Scale-out replicas start together: projects come from `s2v keys create` there.
    if not projects and not settings.broker_url:
        project = store.create_project("default", seal=keyring.seal)
        _print_welcome(settings, project.apikey, project.apisecret)
    store.dispose()
    try:
        serve(create_app(settings), host=settings.host, port=settings.port, http=settings.http)
    finally:
        if lock is not None:
            lock.close()


def _print_welcome(settings: Settings, apikey: str, apisecret: str | None) -> None:
    url = settings.base_url
    typer.echo("Created the default project. Keep these; they are shown once:")
    typer.echo(f"  API key:    {apikey}")
    typer.echo(f"  API secret: {apisecret}")
    typer.echo(f"  Server:     {url}")
    typer.echo(f"  Playground: {playground_url(url, apikey, apisecret)}")
    # src/subject2video/cli/server.py: the checkout's root is three folders up.
    example = Path(__file__).resolve().parents[3] / "examples" / "face.jpg"
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
        f"-F {UPLOAD_PARAM}=@{shlex.quote(image)} -F 'prompt=She smiles and turns her head'"
    )
    typer.echo("Then poll Task/Detail with the taskid it returns (see README.md).\n")


def playground_url(base_url: str, apikey: str, apisecret: str | None) -> str:
    """The playground's address, signed in: the credentials ride in the fragment, which a
    browser never sends to a server."""
    fragment = {"key": apikey, **({"secret": apisecret} if apisecret else {})}
    return f"{base_url}/#{urlencode(fragment)}"


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

    settings = load_settings(data_dir=data_dir)
    if not settings.broker_url:
        typer.echo("error: set S2V_BROKER_URL (e.g. redis://host:6379/0) to run a worker", err=True)
        raise typer.Exit(2)
    configure_logging(settings)
    open_store(settings).dispose()
    names = [q.strip() for q in (queues or "").split(",") if q.strip()]
    worker_main(settings, names or None)


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None) -> None:
    """Create or migrate the store's tables to the newest schema (SQLite or PostgreSQL)."""
    settings = load_settings(data_dir=data_dir)
    open_store(settings).dispose()
    typer.echo(f"store at the newest schema: {_redact(settings.db_url)}")


@db_app.command("backup")
def db_backup(
    dest: Annotated[Path, typer.Argument(help="A new (or empty) folder for the backup")],
    data_dir: DataDir = None,
) -> None:
    """Copy the store and its outputs while the server runs (SQLite's backup API; a manifest of
    every file with its SHA-256). PostgreSQL: checks it is reachable and says to use pg_dump."""
    from subject2video.tasks.backup import BackupError, backup

    settings = load_settings(data_dir=data_dir)
    open_store(settings).dispose()  # the newest schema, so the copy restores without surprises
    try:
        report = backup(settings, dest)
    except BackupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    _print_report("backed up", dest, report)


@db_app.command("restore")
def db_restore(
    source: Annotated[Path, typer.Argument(help="A folder made by `s2v db backup`")],
    data_dir: DataDir = None,
) -> None:
    """Restore a backup into an empty data dir (checksums checked first), then migrate it."""
    from subject2video.tasks.backup import BackupError, restore

    settings = load_settings(data_dir=data_dir)
    try:
        report = restore(settings, source)
    except BackupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    open_store(settings).dispose()
    _print_report("restored", settings.data_dir, report)
    where = shlex.quote(str(settings.data_dir))
    typer.echo(f"start a server on it: s2v serve --data-dir {where}")


def _print_report(done: str, where: Path, report: Report) -> None:
    typer.echo(f"{done}: {where} ({report.files} files, {report.bytes} bytes)")
    for key in report.missing:
        typer.echo(f"  missing (deleted or expired after the snapshot): {key}")
    for note in report.notes:
        typer.echo(f"  note: {note}")


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
