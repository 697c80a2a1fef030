"""The operator's `s2v usage`: what each project used, read from the store."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer

from subject2video.cli._common import DataDir, PrintJson, load_settings, open_store
from subject2video.tasks import keys
from subject2video.tasks.usage import project_usage


def _since(value: str | None) -> float | None:
    """A date or date-time (ISO 8601, UTC unless it says otherwise) as unix seconds."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        typer.echo(
            f"error: --since {value!r} is not a date: give YYYY-MM-DD or YYYY-MM-DDTHH:MM",
            err=True,
        )
        raise typer.Exit(2) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def usage(
    project: Annotated[
        str | None, typer.Option(help="Only this project: its API key, id or unique name")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Only tasks created from this date (YYYY-MM-DD, UTC) on")
    ] = None,
    as_json: PrintJson = False,
    data_dir: DataDir = None,
) -> None:
    """Tasks, finished, failed, engine seconds, output bytes and cost per project.

    Cost is engine seconds times S2V_PRICE_PER_SECOND (default 0)."""
    settings = load_settings(data_dir=data_dir)
    store = open_store(settings)
    try:
        project_id = keys.find(store, project)[0].id if project else None
        rows = project_usage(
            store, price=settings.price_per_second, since=_since(since), project_id=project_id
        )
    except keys.KeyNotFound as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        store.dispose()
    if as_json:
        typer.echo(json.dumps([row.to_dict() for row in rows]))
        return
    typer.echo(
        f"{'id':>4}  {'project':<16} {'tasks':>6} {'finished':>8} {'failed':>6} "
        f"{'cancelled':>9} {'engine s':>10} {'output bytes':>13} {'cost':>12}"
    )
    for row in rows:
        typer.echo(
            f"{row.project_id:>4}  {row.name[:16]:<16} {row.tasks:>6} {row.finished:>8} "
            f"{row.failed:>6} {row.cancelled:>9} {row.engine_seconds:>10.1f} "
            f"{row.output_bytes:>13} {row.cost:>12.4f}"
        )
