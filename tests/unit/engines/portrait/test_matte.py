"""The background plate behind the subject: near the subject's edge, where a turn or a camera's
parallax uncovers it, the background goes on (mirrored across the edge) rather than a smooth
smear; nothing of the subject is left in it."""

from __future__ import annotations

import cv2
import numpy as np

from subject2video.engines.portrait.matte import background_plate

GREEN = (40, 200, 40)
GROW = 10


def striped(size: tuple[int, int] = (320, 300), period: int = 12) -> np.ndarray:
    """A background of vertical grey stripes (60 and 200), a dark one every `period` px."""
    w, h = size
    column = np.where(np.arange(w) % period < period // 2, 60, 200).astype(np.uint8)
    return np.repeat(np.broadcast_to(column[None, :, None], (h, w, 1)), 3, axis=2).copy()


def with_subject(
    background: np.ndarray, centre: tuple[int, int], axes: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """The background with a green ellipse over it (the subject) and the ellipse's alpha."""
    mask = np.zeros(background.shape[:2], np.uint8)
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 255, -1)
    alpha = cv2.GaussianBlur(mask, (0, 0), 1.0).astype(np.float32) / 255
    image = background.copy()
    image[alpha > 0.5] = GREEN
    return image, alpha


def rim(alpha: np.ndarray, rows: slice, depths: tuple[int, int]) -> list[tuple[int, slice]]:
    """Per row, the columns `depths` px inside the plate's region (the matte grown by GROW) on
    its left side, where the edge runs up and down."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * GROW + 1, 2 * GROW + 1))
    region = cv2.dilate((alpha > 0.01).astype(np.uint8), kernel)
    spans = []
    for y in range(rows.start, rows.stop):
        left = int(np.argmax(region[y] > 0))
        spans.append((y, slice(left + depths[0], left + depths[1])))
    return spans


def stripe_contrast(pixels: np.ndarray) -> float:
    """The mean step between neighbouring pixels along a row (grey levels)."""
    return float(np.abs(np.diff(pixels[..., 1].astype(np.float32), axis=-1)).mean())


def test_near_the_subjects_edge_the_plate_goes_on_with_the_background() -> None:
    background = striped()
    image, alpha = with_subject(background, (160, 260), (90, 140))
    plate = background_plate(image, alpha, GROW)
    far = stripe_contrast(background[100:200, 10:40])
    near = np.mean(
        [stripe_contrast(plate[y, cols]) for y, cols in rim(alpha, slice(180, 240), (3, 25))]
    )
    # The stripes go on into the subject's area (the smooth inpainting alone stepped by 7 grey
    # levels, against 24 in the background); of the subject, nothing stays.
    assert near > 0.5 * far, (near, far)
    green = plate[..., 1].astype(int) - plate[..., [0, 2]].astype(int).max(axis=2)
    assert green.max() < 12


def test_at_the_photos_border_and_in_a_narrow_gap_the_plate_has_no_holes() -> None:
    # The subject runs off the top of the photo, and two of them stand a few px apart: the
    # mirrored points fall off the photo or into the other; no black, no green in the plate.
    background = striped()
    image, alpha = with_subject(background, (100, 40), (60, 120))
    second, alpha2 = with_subject(image, (205, 200), (40, 120))
    alpha = np.maximum(alpha, alpha2)
    plate = background_plate(second, alpha, GROW)
    assert plate.min() >= 45  # the stripes' dark is 60 (a smooth fill blends it, not below)
    green = plate[..., 1].astype(int) - plate[..., [0, 2]].astype(int).max(axis=2)
    assert green.max() < 12


def test_another_persons_face_beside_the_subject_is_not_mirrored_into_the_plate() -> None:
    # A red "face" a little way left of the subject: given as another person's face, none of its red
    # comes back inside the subject's area (a face's mirror image there would be a ghost);
    # not given, it does (the test sees the mirror).
    background = striped()
    background[150:230, 8:36] = (220, 40, 40)
    image, alpha = with_subject(background, (160, 260), (90, 140))
    inside = alpha > 0.01

    def red(plate: np.ndarray) -> int:
        excess = plate[..., 0].astype(int) - plate[..., 1:].astype(int).max(axis=2)
        return int(excess[inside].max())

    assert red(background_plate(image, alpha, GROW)) > 60
    assert red(background_plate(image, alpha, GROW, [(8, 150, 36, 230)])) < 12


def test_beyond_a_cut_in_the_subjects_matte_the_plate_keeps_the_photo() -> None:
    # The subject's matte cut straight down at x = 162 through a person the model read whole
    # (`Layers.others`: the neighbour beyond the cut): their pixels stay the photo's up to the
    # cut, where the plate used to lay its fill over them a few pixels wide (a seam on their face).
    image = striped(period=10)
    image[120:, :160] = GREEN
    alpha = np.zeros(image.shape[:2], np.float32)
    alpha[120:, :160] = 1.0
    alpha[120:, 160:162] = (0.6, 0.3)  # the matte's soft edge
    beyond = np.zeros(image.shape[:2], np.uint8)
    beyond[120:, 162:251] = 1
    band = (slice(140, 300), slice(162, 170))
    assert np.abs(background_plate(image, alpha, GROW)[band].astype(int) - image[band]).max() > 30
    kept = background_plate(image, alpha, GROW, keep=beyond)
    assert np.array_equal(kept[band], image[band])
    assert np.array_equal(kept[120:, :150], background_plate(image, alpha, GROW)[120:, :150])
