"""Ears the selfie model misses, found beside the mesh and added to the subject's matte
(`ears.add_ears`)."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from subject2video.engines.portrait import ears
from subject2video.engines.portrait.ears import add_ears, ear_boxes
from subject2video.engines.portrait.face3d import read_face, yaw_3d
from subject2video.engines.portrait.landmarks import FaceMesh
from subject2video.engines.portrait.segment import person_matte
from subject2video.media.faces import get_analyzer
from tests.utils.images import second_face_rgb
from tests.utils.portrait import turn_points


@pytest.fixture(scope="module")
def hopper() -> tuple[np.ndarray, np.ndarray, FaceMesh]:
    """Grace Hopper's photo, her matte and her mesh: her ears in the matte, a gold flagpole with
    its tassels beside her head, skin-coloured against the flag."""
    image = np.ascontiguousarray(second_face_rgb())
    box = get_analyzer().subject(image).box
    mesh = read_face(image, box).mesh
    assert mesh is not None
    return image, person_matte(image, box), mesh


def _boxes_mask(mesh: FaceMesh, shape: tuple[int, ...]) -> np.ndarray:
    mask = np.zeros(shape[:2], np.uint8)
    for box in ear_boxes(mesh):
        cv2.fillConvexPoly(mask, box, 1)
    return mask > 0


def test_an_ear_the_matte_misses_is_added_and_the_flagpole_beside_it_is_not(hopper) -> None:
    """Her ears taken out of the matte (as the selfie model leaves some men's ears out) are found
    again by their colour inside the boxes the mesh places; the flagpole and the flag, outside
    the ears, stay out. Without `add_ears` none of it comes back."""
    image, alpha, mesh = hopper
    face = np.zeros(alpha.shape, np.uint8)
    cv2.fillConvexPoly(face, cv2.convexHull(np.round(mesh.points[:, :2]).astype(np.int32)), 1)
    ears = (alpha > 0.5) & _boxes_mask(mesh, image.shape) & (face == 0)
    assert ears.sum() > 300  # both ears, beside the cheeks
    missed = alpha.copy()
    missed[ears] = 0.0
    found, added = add_ears(image, missed, mesh)
    assert added > 0
    back = (found > 0.5) & ears
    assert back.sum() / ears.sum() > 0.7
    # Nothing away from her own outline: the flagpole runs beside her head, inside the left box,
    # 0.1-0.2 face widths from her cheek. (The gold fringe behind her jaw, touching it, gives a
    # few pixels next to the outline.)
    size = 2 * round(0.05 * mesh.width) + 1
    near = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    away = cv2.dilate((alpha > 0.5).astype(np.uint8), near) == 0
    assert ((found > 0.5) & away).sum() < 0.01 * ears.sum()
    # Taken only inside the boxes.
    outside = ~_boxes_mask(mesh, image.shape)
    assert np.array_equal(found[outside], missed[outside])


def test_the_ear_of_a_side_turned_away_is_not_looked_for(hopper) -> None:
    """Turned 35° (the nose towards screen left), the screen-right cheek faces the camera and its
    ear shows; the other is behind the head."""
    _, _, mesh = hopper
    p = turn_points(mesh.points, -35)
    turned = replace(mesh, points=p)
    assert len(ear_boxes(mesh)) == 2
    boxes = ear_boxes(turned)
    assert len(boxes) == 1, yaw_3d(turned)
    # The one left is beside the screen-right cheek, behind it.
    assert boxes[0].reshape(-1, 2)[:, 0].mean() > p[454, 0] - 0.1 * mesh.width


def test_a_skin_coloured_curtain_beside_the_head_at_the_frames_edge_is_not_an_ear(
    hopper, monkeypatch
) -> None:
    """A close-up whose frame cuts through the ear's box, beside a curtain the colour of her skin
    (as Joe Biden's gold curtain is, framed): the background round the box, sampled mostly off
    the frame, does not have that colour, so colour alone takes the curtain. It runs on past the
    box to the frame's edge, which an ear does not, so it is left out."""
    image, alpha, mesh = hopper
    left = min(ear_boxes(mesh), key=lambda b: float(b.reshape(-1, 2)[:, 0].mean())).reshape(-1, 2)
    cut = int(left[:, 0].min() + 0.3 * np.ptp(left[:, 0]))
    photo = np.ascontiguousarray(image[:, cut:]).copy()
    matte = np.ascontiguousarray(alpha[:, cut:])
    moved = replace(mesh, points=mesh.points - np.array([cut, 0.0, 0.0]))
    face = np.zeros(matte.shape, np.uint8)
    cv2.fillConvexPoly(face, cv2.convexHull(np.round(moved.points[:, :2]).astype(np.int32)), 1)
    skin = np.median(photo[(face > 0) & (matte > 0.5)], axis=0)
    # The curtain reaches a little above and below the box (not as far as the background's
    # sample round it) and runs out of the frame.
    reach = 0.04 * mesh.width
    top, bottom = int(left[:, 1].min() - reach), int(left[:, 1].max() + reach)
    curtain = np.zeros(matte.shape, bool)
    curtain[top:bottom, : int(0.15 * mesh.width)] = True
    curtain &= cv2.dilate((matte > 0.5).astype(np.uint8), np.ones((7, 7), np.uint8)) == 0
    noise = np.random.default_rng(0).normal(0, 6, (int(curtain.sum()), 3))
    photo[curtain] = np.clip(skin + noise, 0, 255).astype(np.uint8)
    in_box = curtain & _boxes_mask(moved, photo.shape)
    assert in_box.sum() > 500

    found, _ = add_ears(photo, matte, moved)
    assert ((found > 0.5) & in_box).sum() < 0.05 * in_box.sum()
    # Without the rule, colour takes it.
    monkeypatch.setattr(ears, "CUT_EDGE", 1.0)
    found, _ = add_ears(photo, matte, moved)
    assert ((found > 0.5) & in_box).sum() > 0.5 * in_box.sum()
