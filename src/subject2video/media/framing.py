"""Framing: the photo fitted to an output aspect without cutting the face.

Where the photo has room, it is cropped to the aspect around the face (the face and a margin
around it always stay in). Where a crop would cut into that margin, the photo is cropped only as
far as the margin allows and the rest is made by extending the background: the edge rows or
columns mirrored outwards and blurred, so the extension reads as out-of-focus surroundings.

Example::

    framed = fit_to_aspect(image, face, (1280, 720))
    framed.image.shape[1] / framed.image.shape[0]  # 1.777...
    framed.note  # "framing: cropped 1200x1600 to 1200x675 around the face"
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from subject2video.media.subject import Face

#: Room kept around the face box, as a fraction of its size on each side (hair, chin, ears).
MARGIN = 0.45
#: Aspects closer than this (relative) count as equal: no crop, no extension.
TOLERANCE = 0.01
#: Subject framing: a face box shorter than this share of the frame height is framed ...
FRAME_BELOW = 0.30
#: ... as a medium close-up, the face box this share of the crop's height (the issue's bar is a
#: face at least 25% of the frame's height in every frame, as `s2v eval` measures it, brows to
#: chin: on a face turned about 40° and looking down, that reads 0.88x the detector's box, and a
#: nod takes a tenth more off it) ...
FRAMED_SHARE = 0.33
#: ... its top this share of the crop's height below the crop's top (room for hair).
HEADROOM = 0.2
#: A push-in from the photo's wide view ends on a close-up framed as above but with the face box
#: this share of its height: at 0.33 the astronaut's push (face 21% of her photo) enlarged it
#: 1.60x, past `render.CUBIC_ZOOM`, and its render took twice the time; a push's first frames
#: are the wide view, under 25% anyway.
PUSHED_SHARE = 0.30


@dataclass(frozen=True)
class Framed:
    """The fitted photo, its face in the new pixels, and what was done, in words."""

    image: np.ndarray
    face: Face
    #: "kept", "cropped" or "extended" (a crop and an extension together are "extended"), or
    #: "framed" (a medium close-up of the subject, `frame_subject`).
    how: str
    note: str


def fit_to_aspect(image: np.ndarray, face: Face, size: tuple[int, int]) -> Framed:
    """The photo at the aspect of `size` (width, height), the face whole and with its margin."""
    h, w = image.shape[:2]
    aspect = size[0] / size[1]
    if abs(w / h - aspect) <= TOLERANCE * aspect:
        return Framed(image, face, "kept", f"framing: kept the photo's own aspect ({w}x{h})")
    keep = _face_window(face, w, h)
    if w / h > aspect:  # too wide: crop the width, or extend the height
        crop_w = max(round(h * aspect), keep[2] - keep[0])
        x0 = _place(crop_w, w, keep[0], keep[2], face.center[0])
        cropped = image[:, x0 : x0 + crop_w]
        offset = (x0, 0)
        pad = (0, max(0, round(crop_w / aspect) - h))
    else:  # too tall: crop the height, or extend the width
        crop_h = max(round(w / aspect), keep[3] - keep[1])
        # Headroom: the face sits a little above the middle of a portrait crop.
        y0 = _place(crop_h, h, keep[1], keep[3], face.center[1] + 0.1 * face.height)
        cropped = image[y0 : y0 + crop_h, :]
        offset = (0, y0)
        pad = (max(0, round(crop_h * aspect) - w), 0)
    ch, cw = cropped.shape[:2]
    if pad == (0, 0):
        moved = _shift(face, -offset[0], -offset[1])
        note = f"framing: cropped {w}x{h} to {cw}x{ch} around the face"
        return Framed(np.ascontiguousarray(cropped), moved, "cropped", note)
    extended, (left, top) = extend(cropped, pad)
    moved = _shift(face, left - offset[0], top - offset[1])
    eh, ew = extended.shape[:2]
    crop = f"cropped to {cw}x{ch}, then " if (cw, ch) != (w, h) else ""
    note = (
        f"framing: {w}x{h} {crop}extended to {ew}x{eh} (blurred mirrored background): "
        "a crop to the aspect would have cut the face"
    )
    return Framed(extended, moved, "extended", note)


def extend(image: np.ndarray, pad: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
    """The image grown by `pad` (extra width, extra height), split evenly on both sides; the new
    pixels are the edge mirrored outwards and blurred. Returns the image and its (left, top)."""
    extra_w, extra_h = pad
    left, top = extra_w // 2, extra_h // 2
    right, bottom = extra_w - left, extra_h - top
    h, w = image.shape[:2]
    # Reflection needs the border to be smaller than the image; repeat it where it is not.
    mode = cv2.BORDER_REFLECT_101 if max(left, right) < w and max(top, bottom) < h else None
    grown = cv2.copyMakeBorder(
        image, top, bottom, left, right, mode if mode is not None else cv2.BORDER_REPLICATE
    )
    radius = max(3, (max(extra_w, extra_h) // 8) | 1)
    blurred = cv2.GaussianBlur(grown, (radius, radius), 0)
    mask = np.zeros(grown.shape[:2], np.float32)
    mask[top : top + h, left : left + w] = 1.0
    # A soft seam: the blur fades in over a few pixels beyond the photo's edge.
    seam = max(3, (radius // 4) | 1)
    mask = cv2.GaussianBlur(mask, (seam * 2 + 1, seam * 2 + 1), 0)
    mask[top : top + h, left : left + w] = 1.0
    out = grown * mask[..., None] + blurred * (1.0 - mask[..., None])
    return np.clip(out + 0.5, 0, 255).astype(np.uint8), (left, top)


def _face_window(face: Face, w: int, h: int) -> tuple[int, int, int, int]:
    """The face box with its margin, inside the photo: what no crop may cut."""
    mx, my = MARGIN * face.width, MARGIN * face.height
    return (
        max(0, int(face.box[0] - mx)),
        max(0, int(face.box[1] - my)),
        min(w, int(np.ceil(face.box[2] + mx))),
        min(h, int(np.ceil(face.box[3] + my))),
    )


def _place(length: int, total: int, lo: int, hi: int, centre: float) -> int:
    """The start of a window of `length` in [0, total) that holds [lo, hi), centred on `centre`
    where it can be."""
    length = min(length, total)
    start = round(centre - length / 2)
    start = min(start, lo)  # hold the window's low end
    start = max(start, hi - length)  # and its high end
    return int(min(max(start, 0), total - length))


def _shift(face: Face, dx: int, dy: int) -> Face:
    box = (face.box[0] + dx, face.box[1] + dy, face.box[2] + dx, face.box[3] + dy)
    landmarks = None
    if face.landmarks is not None:
        landmarks = np.asarray(face.landmarks, np.float64) + np.array([dx, dy], np.float64)
    return Face(box=box, landmarks=landmarks, score=face.score)


def frame_subject(
    image: np.ndarray, face: Face, size: tuple[int, int], framed_share: float = FRAMED_SHARE
) -> Framed:
    """The photo cropped to a medium close-up of the subject at the aspect of `size` (w, h), the
    face box `framed_share` of its height, when the face is small in the frame; the photo as it is
    otherwise ("kept").

    Only the photo's own pixels: the crop is enlarged to output size by the engine (Lanczos), no
    detail is invented. Where the photo ends before the crop would, the crop stays inside it (and
    the face is as large as the photo allows).
    """
    h, w = image.shape[:2]
    aspect = size[0] / size[1]
    share = face.height / h
    if share >= FRAME_BELOW:
        note = f"framing: the photo's own (face {100 * share:.0f}% of the frame height)"
        return Framed(image, face, "kept", note)
    crop_h = face.height / framed_share
    crop_w = crop_h * aspect
    if crop_w > w:  # the photo is too narrow for the close-up at this aspect
        crop_w, crop_h = w, w / aspect
    if crop_h > h:
        crop_h, crop_w = h, h * aspect
    cw, ch = max(2, round(crop_w)), max(2, round(crop_h))
    x0 = round(face.center[0] - cw / 2)
    y0 = round(face.box[1] - HEADROOM * ch)
    x0 = int(min(max(x0, 0), w - cw))
    y0 = int(min(max(y0, 0), h - ch))
    cropped = np.ascontiguousarray(image[y0 : y0 + ch, x0 : x0 + cw])
    moved = _shift(face, -x0, -y0)
    note = (
        f"framing: the face was {100 * share:.0f}% of the frame height, so the subject is framed "
        f"as a medium close-up: the photo cropped to {cw}x{ch} at ({x0}, {y0}), face "
        f"{100 * face.height / ch:.0f}% of the height, enlarged {size[1] / ch:.1f}x to "
        f"{size[0]}x{size[1]} (Lanczos; the request's framing=photo, or S2V_FRAMING=photo, keeps "
        "the photo's framing)"
    )
    return Framed(cropped, moved, "framed", note)
