"""The two public-domain faces the benchmarks use (see tests/utils/images.py), and the sample
photos that PyPI sdists ship (read from their archives or unpacked folders, nothing installed)."""

from __future__ import annotations

import sys
import tarfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.utils.images import face_rgb, second_face_rgb

FACES = {"astronaut": face_rgb, "hopper": second_face_rgb}

#: insightface's group photo (six people at a card table): its sdist archive and the member.
T1 = ("insightface-0.7.3.tar.gz", "insightface/data/images/t1.jpg")


def sdist_file(sdists: Path, archive: str, member: str) -> bytes | None:
    """`member` of the sdist `archive` (a .tar.gz) in `sdists`, read from the archive or from its
    unpacked folder beside it; None where neither is there."""
    folder = archive.removesuffix(".tar.gz")
    if (sdists / archive).exists():
        with tarfile.open(sdists / archive) as tar:
            return tar.extractfile(f"{folder}/{member}").read()  # type: ignore[union-attr]
    if (sdists / folder / member).exists():
        return (sdists / folder / member).read_bytes()
    return None
