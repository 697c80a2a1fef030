"""Resumable output downloads: bytes go to `<name>.part`, a Range request continues a partial file,
and the file takes its name only once its size matches the size the task reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from subject2video.client._exceptions import DownloadError
from subject2video.client._models import Output

CHUNK = 1 << 16


@dataclass
class Download:
    """One output on its way to `path`."""

    output: Output
    path: Path

    @property
    def part(self) -> Path:
        return self.path.with_name(self.path.name + ".part")

    @property
    def done(self) -> bool:
        """Already downloaded whole (by an earlier call)."""
        size = self.output.size
        return self.path.is_file() and (size is None or self.path.stat().st_size == size)

    def headers(self) -> dict[str, str]:
        """A Range header that continues a partial file, if one is there."""
        have = self.part.stat().st_size if self.part.is_file() else 0
        return {"Range": f"bytes={have}-"} if have else {}

    def open(self, status: int) -> BinaryIO | None:
        """The file to write the body to: appended on 206, restarted on 200; None on 416."""
        if status == 206:
            return self.part.open("ab")
        if status == 200:
            return self.part.open("wb")
        if status == 416 and self.part.is_file():
            return None  # the partial file is already whole
        raise DownloadError(f"{self.output.url}: HTTP {status}")

    def finish(self) -> Path:
        """Check the size and give the file its name."""
        have = self.part.stat().st_size if self.part.is_file() else -1
        if self.output.size is not None and have != self.output.size:
            self.part.unlink(missing_ok=True)  # the next try starts over
            raise DownloadError(
                f"{self.output.name}: got {have} bytes, the task reported {self.output.size}"
            )
        self.part.replace(self.path)
        return self.path
