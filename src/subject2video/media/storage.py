"""Output storage: where finished videos live, under unguessable keys."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

logger = logging.getLogger(__name__)


class LocalStorage:
    """Files in a local (or shared) directory, addressed by relative keys."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        """The file for `key`; refuses keys that would leave the root."""
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"storage key {key!r} leaves the storage root")
        return path

    def put(self, key: str, source: Path) -> int:
        """Move `source` to `key`; returns its size in bytes."""
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(source), target)
        return target.stat().st_size

    def delete(self, key: str) -> None:
        path = self.path(key)
        path.unlink(missing_ok=True)
        parent = path.parent
        if parent != self.root.resolve() and parent.exists() and not any(parent.iterdir()):
            parent.rmdir()
