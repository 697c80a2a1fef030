"""Input and output storage under unguessable keys: a local (or shared) directory, or S3.

`S2V_STORAGE_URL` picks it: unset (the data directory), a directory path (`/mnt/shared/s2v`, or
`file:///...`), or `s3://bucket/prefix` (with `S2V_S3_ENDPOINT_URL` for an S3-compatible store and
credentials from the usual AWS environment variables).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from subject2video.config import Settings
from subject2video.errors import StorageError

logger = logging.getLogger(__name__)


class Storage(Protocol):
    """Where inputs and outputs live, addressed by relative keys."""

    def put(self, key: str, source: Path) -> int:
        """Move the file `source` to `key`; returns its size in bytes."""
        ...

    def write(self, key: str, data: bytes) -> None: ...

    def read(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...


@contextlib.contextmanager
def disk_errors(doing: str, partial: Path | None = None) -> Iterator[None]:
    """Turn an OSError (a full disk, a read-only or vanished directory) into a StorageError that
    says what could not be done; `partial`, a file half written, is removed first."""
    try:
        yield
    except OSError as exc:
        if partial is not None:
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
        reason = exc.strerror or type(exc).__name__
        logger.warning("storage failed: could not %s: %s", doing, reason)
        raise StorageError(f"Storage failed: could not {doing} ({reason}); retry later") from exc


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
        with disk_errors("store a video", partial=target):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(source), target)
            return target.stat().st_size

    def write(self, key: str, data: bytes) -> None:
        """Write `data` at `key`, visible to other processes only once complete."""
        target = self.path(key)
        partial = target.with_name(target.name + ".part")
        with disk_errors("store an input image", partial=partial):
            target.parent.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(data)
            partial.replace(target)

    def read(self, key: str) -> bytes:
        with disk_errors("read a stored input image"):
            return self.path(key).read_bytes()

    def exists(self, key: str) -> bool:
        with disk_errors("look for a stored file"):
            return self.path(key).is_file()

    def delete(self, key: str) -> None:
        path = self.path(key)
        with disk_errors("delete a stored file"):
            path.unlink(missing_ok=True)
            parent = path.parent
            if parent != self.root.resolve() and parent.exists() and not any(parent.iterdir()):
                parent.rmdir()


class S3Storage:
    """Objects in an S3 bucket under a prefix; downloads go by presigned URL or through the API."""

    def __init__(self, bucket: str, prefix: str, *, endpoint_url: str | None = None) -> None:
        import boto3

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client: Any = boto3.client("s3", endpoint_url=endpoint_url)

    def object_key(self, key: str) -> str:
        if key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"storage key {key!r} leaves the storage prefix")
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, source: Path) -> int:
        size = source.stat().st_size
        self.client.upload_file(str(source), self.bucket, self.object_key(key))
        source.unlink(missing_ok=True)
        return size

    def write(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.object_key(key), Body=data)

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self.object_key(key))["Body"].read()

    def open(self, key: str, byte_range: str | None = None) -> dict[str, Any]:
        """The GetObject answer for `key` (optionally a `bytes=...` range); Body streams."""
        extra = {"Range": byte_range} if byte_range else {}
        return self.client.get_object(Bucket=self.bucket, Key=self.object_key(key), **extra)

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        except self.client.exceptions.ClientError:
            return False
        return True

    def presigned_url(self, key: str, *, content_type: str, filename: str, seconds: int) -> str:
        params = {
            "Bucket": self.bucket,
            "Key": self.object_key(key),
            "ResponseContentType": content_type,
            "ResponseContentDisposition": f'inline; filename="{filename}"',
        }
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=seconds)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.object_key(key))


def open_storage(settings: Settings, area: str) -> LocalStorage | S3Storage:
    """The storage for `area` ("inputs" or "outputs") that the settings choose."""
    url = settings.storage_url
    if url and url.startswith("s3://"):
        parsed = urlparse(url)
        prefix = f"{parsed.path.strip('/')}/{area}".strip("/")
        return S3Storage(parsed.netloc, prefix, endpoint_url=settings.s3_endpoint_url)
    if url:
        root = Path(urlparse(url).path if url.startswith("file://") else url).expanduser()
    else:
        root = settings.data_dir
    return LocalStorage(root / area)
