"""Replicate's Files API: files a project uploads to pass as inputs, kept for 24 hours.

A file is stored in the inputs storage (local or S3) as `replicate-files/<project>/<id>`, with its
record beside it (`<id>.json`) and the project's list of ids in `index.json`. Its `urls.get` is
`<base>/v1/files/<id>`: given as an input, that URL is read from storage here, never fetched over
the network. The list is kept by this API process (a lock), so with several API replicas a list may
miss a file another replica is adding at the same moment.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import mimetypes
import re
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from subject2video.errors import NotFound, StorageError
from subject2video.media.storage import LocalStorage, S3Storage

#: How long an uploaded file is kept, as Replicate keeps them.
KEEP_SECONDS = 24 * 3600
_ID = re.compile(r"[0-9a-f]{32}")
#: A file's URL path, at the root or under the dialect's prefix.
_PATH = re.compile(r"(?:/replicate)?/v1/files/([0-9a-f]{32})/?")
_lock = threading.Lock()
_BINARY = "application/octet-stream"


@dataclass(frozen=True)
class FileRecord:
    id: str
    name: str
    content_type: str
    size: int
    sha256: str
    md5: str
    metadata: dict[str, Any]
    created: float

    @property
    def expires(self) -> float:
        return self.created + KEEP_SECONDS

    def body(self, api: str) -> dict[str, Any]:
        """The file object of Replicate's Files API."""
        return {
            "id": self.id,
            "name": self.name,
            "content_type": self.content_type,
            "size": self.size,
            "etag": self.md5,
            "checksums": {"sha256": self.sha256, "md5": self.md5},
            "metadata": self.metadata,
            "created_at": _iso(self.created),
            "expires_at": _iso(self.expires),
            "urls": {"get": f"{api}/v1/files/{self.id}"},
        }


def _iso(value: float) -> str:
    return dt.datetime.fromtimestamp(value, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Files:
    """One project's uploaded files, in a storage area."""

    def __init__(self, storage: LocalStorage | S3Storage, project_id: int) -> None:
        self.storage = storage
        self.root = f"replicate-files/{project_id}"

    def _exists(self, key: str) -> bool:
        if isinstance(self.storage, LocalStorage):
            return self.storage.path(key).exists()
        return self.storage.exists(key)

    def _ids(self) -> list[str]:
        if not self._exists(f"{self.root}/index.json"):
            return []
        try:
            return list(json.loads(self.storage.read(f"{self.root}/index.json")))
        except (StorageError, FileNotFoundError, ValueError):
            return []

    def _save_ids(self, ids: list[str]) -> None:
        self.storage.write(f"{self.root}/index.json", json.dumps(ids).encode())

    def add(
        self, name: str, data: bytes, content_type: str, metadata: dict[str, Any]
    ) -> FileRecord:
        file_id = secrets.token_hex(16)
        record = FileRecord(
            id=file_id,
            name=name,
            content_type=content_type
            or mimetypes.guess_type(name)[0]
            or "application/octet-stream",
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
            metadata=metadata,
            created=time.time(),
        )
        self.storage.write(f"{self.root}/{file_id}", data)
        self.storage.write(f"{self.root}/{file_id}.json", json.dumps(record.__dict__).encode())
        with _lock:
            self._save_ids([file_id, *self._ids()])
        return record

    def get(self, file_id: str) -> FileRecord:
        """A file of the project; NotFound if it is not one, or expired."""
        if not _ID.fullmatch(file_id):
            raise NotFound(f"File {file_id[:80]!r} not found")
        if not self._exists(f"{self.root}/{file_id}.json"):
            raise NotFound(f"File {file_id!r} not found")
        try:
            record = FileRecord(**json.loads(self.storage.read(f"{self.root}/{file_id}.json")))
        except (StorageError, FileNotFoundError, ValueError, TypeError):
            raise NotFound(f"File {file_id!r} not found") from None
        if record.expires < time.time():
            self.delete(file_id)
            raise NotFound(f"File {file_id!r} has expired (files are kept 24 hours)")
        return record

    def read(self, file_id: str) -> tuple[FileRecord, bytes]:
        record = self.get(file_id)
        try:
            return record, self.storage.read(f"{self.root}/{file_id}")
        except (StorageError, FileNotFoundError):
            raise NotFound(f"File {file_id!r} not found") from None

    def list(self) -> list[FileRecord]:
        records = []
        for file_id in self._ids():
            try:
                records.append(self.get(file_id))
            except NotFound:
                continue
        return records

    def delete(self, file_id: str) -> bool:
        if not _ID.fullmatch(file_id):
            return False
        with _lock:
            ids = self._ids()
            if file_id not in ids:
                return False
            self._save_ids([i for i in ids if i != file_id])
        for key in (f"{self.root}/{file_id}", f"{self.root}/{file_id}.json"):
            try:
                self.storage.delete(key)
            except (StorageError, FileNotFoundError):
                continue
        return True


def local_file_id(url: str, bases: tuple[str, ...]) -> str | None:
    """The id of a file this server holds, if `url` names one under one of `bases`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    for base in bases:
        base_parts = urlsplit(base)
        if origin != f"{base_parts.scheme}://{base_parts.netloc}".lower():
            continue
        path = parts.path.removeprefix(base_parts.path.rstrip("/"))
        match = _PATH.fullmatch(path)
        if match is not None:
            return match.group(1)
    return None
