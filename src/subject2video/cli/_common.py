"""What the commands share: the settings, the store, and the remote commands' options and client.

The remote commands (run, task, tool) take the same `--base-url`, `--api-key`, `--api-secret` and
`--json` options; they are declared here once, as `Annotated` types, so a new remote command writes

    def usage(base_url: BaseUrl = LOCAL_URL, api_key: ApiKey = None, api_secret: ApiSecret = None):
        with remote_client(base_url, api_key, api_secret) as client:
            ...
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from subject2video import MODEL_OWNER, MODEL_PROJECT
from subject2video.config import Settings
from subject2video.tasks.store import Store

if TYPE_CHECKING:
    from subject2video.client import Client

# -- the local commands: settings, the store ----------------------------------------------------

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Where the database, inputs and outputs live [default: ./.s2v]"
    ),
]
PrintJson = Annotated[bool, typer.Option("--json", help="Print JSON")]


def load_settings(**overrides: Any) -> Settings:
    """The settings from the environment, with the options that were given on top."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def open_store(settings: Settings) -> Store:
    """The task store, its directory made and its schema at the newest version."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(settings.db_url, busy_timeout=settings.db_busy_timeout_seconds)
    store.create_schema()
    return store


# -- the remote commands: run, task, tool -------------------------------------------------------

DEFAULT_MODEL = f"{MODEL_OWNER}/{MODEL_PROJECT}"
LOCAL_URL = "http://127.0.0.1:8000"
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


def _client(base_url: str, api_key: str | None, api_secret: str | None) -> Client:
    from subject2video.client import Client, Config

    if not api_key:
        typer.echo("error: an API key is needed: set WIRO_API_KEY or pass --api-key", err=True)
        raise typer.Exit(2)
    return Client(config=Config(base_url=base_url, api_key=api_key, api_secret=api_secret or None))


@contextlib.contextmanager
def client_errors() -> Iterator[None]:
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


@contextlib.contextmanager
def remote_client(base_url: str, api_key: str | None, api_secret: str | None) -> Iterator[Client]:
    """A client of the server, closed on the way out, its errors turned into one line and an exit
    status (see `client_errors`). A missing API key exits with status 2 before any request."""
    client = _client(base_url, api_key, api_secret)
    with client, client_errors():
        yield client
