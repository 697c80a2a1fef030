"""Work files: the videos being made (`<data dir>/work/task<id>-*.mp4`), before they are stored.

They are the runner's alone. A stop or a crash can leave them, so they are removed after every
task and, all of them, when a server or a worker starts (no task runs then).
"""

from __future__ import annotations

import logging
from pathlib import Path

from subject2video.config import Settings

logger = logging.getLogger(__name__)


def work_dir(settings: Settings) -> Path:
    """Where videos are written while they are made."""
    return settings.data_dir / "work"


def remove_work_files(settings: Settings, task_id: int | None = None) -> int:
    """Remove the work files of `task_id` (None: every one); returns how many went."""
    pattern = f"task{task_id}-*" if task_id is not None else "task*"
    removed = 0
    try:
        for path in work_dir(settings).glob(pattern):
            path.unlink(missing_ok=True)
            removed += 1
    except OSError as exc:
        logger.warning("work files not removed: %s", exc, extra={"task_id": task_id})
    return removed


def audio_key(task_uuid: str, name: str) -> str:
    """Where a task's uploaded voice recording is kept, in the inputs storage (beside the
    image's upload, under the task's uuid)."""
    return f"{task_uuid}/audio-{name}"


#: The name (in `audio_key`) of a voice recording the input stage fetched from its URL.
FETCHED_AUDIO = "fetched"


def input_key(task_uuid: str, name: str) -> str:
    """Where a task's input image is kept in the inputs storage: an upload (`name` its safe
    file name) or the image the input stage fetched (`name` "image")."""
    return f"{task_uuid}/input-{name}"
