"""The `s2v` command, one module per audience.

- `server`: the operator's `serve`, `worker` and `db`;
- `keys`: the operator's projects and API keys;
- `usage`: the operator's usage figures per project;
- `remote`: the client's `run`, `task` and `tool`, against this server or the hosted API;
- `local`: the local tools `generate` and `eval`, with no server;
- `_common`: what they share, the remote commands' options among it.

A command in a group (`s2v keys revoke`) is a function under `@keys_app.command("revoke")` in its
module. A top-level command (`s2v usage`) is a function in its audience's module, added below.
"""

from __future__ import annotations

import typer

from subject2video.cli import keys, local, remote, server, usage

__all__ = ["app", "main"]

app = typer.Typer(
    help="subject2video: a self-hosted subject-to-video service.", no_args_is_help=True
)

# `s2v --help` lists the commands in this order, then the groups.
app.command()(server.serve)
app.command()(server.worker)
app.command("run")(remote.run_command)
app.command()(local.generate)
app.command("eval")(local.eval_video)
app.command("usage")(usage.usage)

app.add_typer(keys.keys_app, name="keys")
app.add_typer(remote.task_app, name="task")
app.add_typer(server.db_app, name="db")
app.add_typer(remote.tool_app, name="tool")


def main() -> None:
    """Run `s2v` with this process's arguments."""
    app()
