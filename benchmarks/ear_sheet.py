"""Ears as a turn moves them: a sheet of crops round each visible ear, before and after a change.

For each of face_recognition's test photos whose ears the selfie model misses (see
`focus_classes.EAR_PHOTOS`), a 4 s video is made by `s2v generate` with this checkout's `s2v`
and with another (`--baseline`, an older checkout's), the same prompt and seed; the sheet shows,
per ear the person matte misses (`ears.add_ears` on the baseline video's first frame), a row: three
frames (first, middle, last) of the baseline's video, then the same three of this one's.

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

from subject2video.engines.portrait.ears import add_ears, ear_boxes
from subject2video.engines.portrait.landmarks import get_mesher
from subject2video.engines.portrait.segment import person_matte
from subject2video.media.detector import get_detector
from subject2video.media.video import read_frames

PROMPT = "He laughs and turns his head to the left"
#: Each row's height in the sheet, pixels.
ROW = 200
#: An ear is shown where `add_ears` adds at least this share of its box on the first frame.
SHOWN = 0.02


def _video(s2v: str, photo: Path, out: Path, prompt: str) -> list[np.ndarray]:
    command = [s2v, "generate", str(photo), "-p", prompt, "--seconds", "4", "-o", str(out)]
    subprocess.run(command, check=True, capture_output=True)
    return list(read_frames(out))


def _ear_crops(first: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Boxes (x0, y0, x1, y1) round each ear of the largest face in `first` that the person
    matte misses enough of for `ears.add_ears` to add at least `SHOWN` of its box."""
    faces = get_detector().detect(first)
    if not faces:
        return []
    face = max(faces, key=lambda f: f.box[2] - f.box[0])
    x0, y0, x1, y1 = (int(v) for v in face.box)
    mesh = get_mesher().mesh(first, (x0, y0, x1, y1))
    alpha = person_matte(first, face.box, [f.box for f in faces if f is not face])
    added = (add_ears(first, alpha, mesh)[0] > 0.5) & (alpha <= 0.5)
    margin = int(0.15 * (x1 - x0))
    h, w = first.shape[:2]
    crops = []
    for box in ear_boxes(mesh):
        inside = np.zeros(alpha.shape, np.uint8)
        cv2.fillConvexPoly(inside, box, 1)
        if added[inside > 0].mean() < SHOWN:
            continue
        bx, by, bw, bh = cv2.boundingRect(box)
        crop = (max(0, bx - margin), max(0, by - margin))
        crop += (min(w, bx + bw + margin), min(h, by + bh + margin))
        if crop[2] - crop[0] >= (crop[3] - crop[1]) / 2:  # not a sliver at the frame's edge
            crops.append(crop)
    return crops


def _row(
    old: list[np.ndarray], new: list[np.ndarray], crop: tuple[int, int, int, int], label: str
) -> np.ndarray:
    """First, middle and last frames at `crop`: the baseline's, then this checkout's."""
    x0, y0, x1, y1 = crop
    tiles = []
    for frames in (old, new):
        for frame in (frames[0], frames[len(frames) // 2], frames[-1]):
            tiles.append(np.pad(frame[y0:y1, x0:x1], ((0, 0), (0, 3), (0, 0))))
        tiles.append(np.full((y1 - y0, 12, 3), 255, np.uint8))
    row = np.hstack(tiles[:-1])
    scale = ROW / row.shape[0]
    row = cv2.resize(row, (round(row.shape[1] * scale), ROW), interpolation=cv2.INTER_AREA)
    row = np.ascontiguousarray(row)
    cv2.putText(row, label, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 0), 1)
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
                rows.append(_row(old, new, crop, member))
            print(f"{name} done", file=sys.stderr)
    if not rows:
        return 1
    width = max(r.shape[1] for r in rows)
    sheet = np.vstack([np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0))) for r in rows])
    Image.fromarray(sheet).save(args.out, optimize=True)
    print(f"wrote {args.out} ({len(rows)} ears)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
