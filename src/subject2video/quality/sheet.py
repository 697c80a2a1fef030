"""A contact sheet of a video: evenly spaced frames, each whole and with its face enlarged.

Numbers have missed artefacts that a look finds at once (a torn cheek, a bruise-coloured mouth),
so `s2v eval --sheet out.png` writes one. The face is found in each picked frame by the
evaluator's own detector (dlib), never by the engine's landmarks.

Example::

    image = contact_sheet(read_frames(path), total=150)
    Image.fromarray(image).save("sheet.png")
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from subject2video.media.faces import FaceAnalyzer, get_analyzer

#: Side of one tile (the whole frame fits its width; the enlarged face is square).
TILE = 240
LABEL = (255, 230, 0)


def picks(total: int, count: int = 8) -> list[int]:
    """`count` frame indices spread evenly from the first frame to the last."""
    if total <= 0:
        return []
    count = min(count, total)
    return sorted({round(i * (total - 1) / max(count - 1, 1)) for i in range(count)})


def _face_crop(
    frame: np.ndarray,
    analyzer: FaceAnalyzer,
    around: np.ndarray | None = None,
    reach: float = 0.9,
) -> np.ndarray:
    """A square around the largest face (with its hair and chin), or the frame's centre.

    With `around`, the square is placed on that frame's face instead (the same crop for a run
    of frames, so that motion shows as motion). `reach` is half the square's side in face
    sizes.
    """
    h, w = frame.shape[:2]
    faces = analyzer.detect(frame if around is None else around)
    if faces:
        cx, cy = faces[0].center
        half = reach * max(faces[0].width, faces[0].height)
    else:
        cx, cy, half = w / 2, h / 2, min(w, h) / 4
    x0, y0 = int(max(0, cx - half)), int(max(0, cy - 1.1 * half))
    x1, y1 = int(min(w, cx + half)), int(min(h, cy + 0.9 * half))
    crop = frame[y0:y1, x0:x1]
    return cv2.resize(crop, (TILE, TILE), interpolation=cv2.INTER_CUBIC)


def _whole(frame: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    scale = TILE / max(h, w)
    small = cv2.resize(frame, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    tile = np.zeros((TILE, TILE, 3), np.uint8)
    y0, x0 = (TILE - small.shape[0]) // 2, (TILE - small.shape[1]) // 2
    tile[y0 : y0 + small.shape[0], x0 : x0 + small.shape[1]] = small
    return tile


def contact_sheet(
    frames: Iterable[np.ndarray],
    total: int,
    count: int = 8,
    analyzer: FaceAnalyzer | None = None,
) -> np.ndarray:
    """The sheet (RGB uint8): a row of whole frames over a row of their enlarged faces."""
    analyzer = analyzer or get_analyzer()
    wanted = set(picks(total, count))
    top, bottom = [], []
    for index, frame in enumerate(frames):
        if index not in wanted:
            continue
        whole, face = _whole(frame), _face_crop(frame, analyzer)
        cv2.putText(whole, f"frame {index}", (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, LABEL, 1)
        top.append(whole)
        bottom.append(face)
    if not top:
        raise ValueError("the video has no frames")
    return np.concatenate([np.concatenate(top, axis=1), np.concatenate(bottom, axis=1)], axis=0)
