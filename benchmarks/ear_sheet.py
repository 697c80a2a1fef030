"""Ears as a turn moves them: a sheet of crops round each visible ear, before and after a change.

For each of face_recognition's test photos whose ears the selfie model misses (see
`focus_classes.EAR_PHOTOS`), a 4 s video is made by `s2v generate` with this checkout's `s2v`
and with another (`--baseline`, an older checkout's), the same prompt and seed; the sheet shows,
per visible ear (`ears.ear_boxes` on the video's first frame), three frames (first, middle, last)
of the baseline's video above this one's, enlarged.

    .venv/bin/python benchmarks/ear_sheet.py --baseline /path/to/old/s2v [--out docs/ears.png]

The photos are read from DIR (`--sdists`, default `S2V_SDISTS` or /tmp/sdists): the sdist
`face_recognition-1.3.0.tar.gz` or its unpacked folder (`pip download face_recognition==1.3.0
--no-deps --no-binary :all: -d DIR`).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from _faces import sdist_file
from focus_classes import EAR_PHOTOS, FR
from PIL import Image

from subject2video.engines.portrait.ears import ear_boxes
from subject2video.engines.portrait.landmarks import get_mesher
from subject2video.media.detector import get_detector
from subject2video.media.video import read_frames

PROMPT = "He laughs and turns his head to the left"
#: Each crop's height in the sheet, pixels.
ROW = 240


def _video(s2v: str, photo: Path, out: Path, prompt: str) -> list[np.ndarray]:
    command = [s2v, "generate", str(photo), "-p", prompt, "--seconds", "4", "-o", str(out)]
    subprocess.run(command, check=True, capture_output=True)
    return read_frames(out)


def _ear_crops(first: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Boxes (x0, y0, x1, y1) round each visible ear of the largest face in `first`."""
    faces = get_detector().detect(first)
    if not faces:
        return []
    face = max(faces, key=lambda f: f.box[2] - f.box[0])
    x0, y0, x1, y1 = (int(v) for v in face.box)
    mesh = get_mesher().mesh(first, (x0, y0, x1, y1))
    margin = int(0.15 * (x1 - x0))
    h, w = first.shape[:2]
    crops = []
    for box in ear_boxes(mesh):
        bx, by, bw, bh = cv2.boundingRect(box)
        crop = (max(0, bx - margin), max(0, by - margin))
        crop += (min(w, bx + bw + margin), min(h, by + bh + margin))
        if crop[2] - crop[0] > 8 and crop[3] - crop[1] > 8:
            crops.append(crop)
    return crops


def _row(frames: list[np.ndarray], crop: tuple[int, int, int, int], label: str) -> np.ndarray:
    x0, y0, x1, y1 = crop
    picks = [frames[0], frames[len(frames) // 2], frames[-1]]
    row = np.hstack([np.pad(f[y0:y1, x0:x1], ((0, 0), (0, 4), (0, 0))) for f in picks])
    scale = ROW / row.shape[0]
    row = cv2.resize(row, (round(row.shape[1] * scale), ROW), interpolation=cv2.INTER_AREA)
    row = np.ascontiguousarray(row)
    cv2.putText(row, label, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 0), 1)
    return row


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", required=True, help="the other checkout's s2v")
    parser.add_argument("--s2v", default=str(Path(sys.executable).parent / "s2v"))
    parser.add_argument("--prompt", default=PROMPT)
    parser.add_argument("--out", type=Path, default=Path("ears.png"))
    parser.add_argument(
        "--sdists", type=Path, default=Path(os.environ.get("S2V_SDISTS", "/tmp/sdists"))
    )
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, member in EAR_PHOTOS.items():
            data = sdist_file(args.sdists, FR, f"tests/test_images/{member}")
            if data is None:
                print(f"skipped {name}: {FR} is not in {args.sdists}", file=sys.stderr)
                continue
            photo = Path(tmp) / member
            photo.write_bytes(data)
            old = _video(args.baseline, photo, Path(tmp) / "old.mp4", args.prompt)
            new = _video(args.s2v, photo, Path(tmp) / "new.mp4", args.prompt)
            for crop in _ear_crops(old[0]):
                rows += [_row(old, crop, f"before: {member}"), _row(new, crop, "after")]
            print(f"{name} done", file=sys.stderr)
    if not rows:
        return 1
    width = max(r.shape[1] for r in rows)
    sheet = np.vstack([np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0))) for r in rows])
    Image.fromarray(sheet).save(args.out)
    print(f"wrote {args.out} ({len(rows) // 2} ears)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
