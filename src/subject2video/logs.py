"""Logging set-up: text for people, JSON for machines; task ids travel in `extra`."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from subject2video.config import Settings

#: Record attributes that are not extras (uvicorn adds a coloured copy of its message).
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


#: Libraries whose INFO lines are plumbing, not events an operator needs.
QUIET = ("alembic",)


class TextFormatter(logging.Formatter):
    """`time level logger message key=value ...`, the extras (task_id and friends) at the end."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        if extras:
            line += " " + " ".join(f"{k}={v}" for k, v in extras.items())
        return line


def configure_logging(settings: Settings) -> None:
    """Configure the root logger once per process, by the settings' format and level."""
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    # Alembic narrates every start-up ("Context impl SQLiteImpl", "Will assume transactional
    # DDL"); migrations.upgrade logs what it changed itself. Its warnings still show.
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
