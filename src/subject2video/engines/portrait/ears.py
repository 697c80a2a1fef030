"""Ears the selfie model misses, found beside the face mesh and added to the subject's matte.

MediaPipe's selfie model often gives an ear a person probability near 0 (the model's own
training leaves ears out on some faces), so the ear stayed in the background plate while the head
turned away from it, and the part of it that the matte did take moved with the head: the ear tore
in two. Colour alone cannot be trusted to find an ear (a gold flagpole or a door frame beside the
head is as skin-coloured as an ear against its surroundings), so three things must agree:

1. **Where an ear can be for this head's pose.** A box beside each cheek extreme of the mesh (points
   234, 454), set in the head's own axes (across the face, up from the chin, back from the nose):
   from a little inside the cheek's edge to a fifth of the face's width outside it, from just in
   front of it to a third of the width behind it, from the brows' height to a little below the
   mouth's corners. Projected to the photo, it covers the ear of a frontal face beside the cheek,
   and that of a turned face further back. An ear on the side turned away from the camera is
   hidden and not looked for.
2. **Whose colour it has.** In each box, a pixel outside the matte is the ear's where the face's
   skin (a Gaussian in Lab, fitted to the face's own pixels, its odd 20% left out) explains it
   better than the background round the box (three Gaussians, one per cluster) does; then again
   with a Gaussian of what the first pass found, since an ear is often pinker or more shaded
   than the cheek. A flagpole or a frame runs on past the box, so it is in the background's
   sample and stays the background's.
3. **Whose shape it has.** What is kept joins the matte, or comes within a crease of it. It is
   looked for in a margin round the box as well: a region that runs on to the margin's edge (or
   the frame's) is something beside the head, a curtain whose colour the background's sample
   missed (at a close-up's edge), and is left out.

What is kept is closed over its folds, opened (a strip running off it is not an ear), its small
holes filled, inside the box, and added with a hard edge, since a soft one would show the plate's
fill round the rim.

Example::

    alpha, added = add_ears(image, alpha, mesh)  # alpha float32 (H, W); added: pixels taken
"""

from __future__ import annotations

import cv2
import numpy as np

from subject2video.engines.portrait.face3d import yaw_3d
from subject2video.engines.portrait.landmarks import FaceMesh
from subject2video.engines.portrait.segment import keep_holes_over
from subject2video.engines.portrait.topology import CHEEK_L, CHEEK_R, CHIN, FOREHEAD

#: The ear's box, in face widths (the mesh's 3D cheek-to-cheek distance): out from the cheek's
#: extreme (negative: in from it), back from it (negative: in front), and above the brows' height.
OUT = (-0.08, 0.2)
BACK = (-0.02, 0.32)
ABOVE_BROWS = 0.03
#: Points of the mesh: the brows' middles (the box's top) and the mouth's corners (its bottom,
#: less `BELOW_MOUTH` face widths: an earlobe can hang that low).
BROW_POINTS = (70, 63, 105, 300, 293, 334)
MOUTH_CORNERS = (61, 291)
BELOW_MOUTH = 0.05
#: A side turned away from the camera by more than this (degrees) hides its ear.
HIDDEN_YAW = 20.0
#: The background's sample: a ring round the box, from this far (face widths; an ear reaching
#: past the box is not the background's) to this far.
RING = (0.06, 0.2)
#: What is added is opened by a disc this wide (face widths): an ear is broader, while a strip
#: of a window sill or a curtain's edge, running off the ear's lobe or rim, is not.
OPEN = 0.05
#: Background colour clusters.
CLUSTERS = 3
#: A region found whose outline runs along the outer edge of the margin round the box (or the
#: frame's edge), away from the head, for more than this share of its length runs on past the
#: box: not an ear.
CUT_EDGE = 0.05


def ear_boxes(mesh: FaceMesh) -> list[np.ndarray]:
    """The photo's regions (convex polygons, int32 (N, 1, 2)) where the visible ears can be."""
    p = mesh.points.astype(np.float64)
    left, right = p[CHEEK_L], p[CHEEK_R]
    width = float(np.linalg.norm(right - left))
    across = (right - left) / max(width, 1e-6)
    up = p[FOREHEAD] - p[CHIN]
    up -= across * (up @ across)
    up /= max(float(np.linalg.norm(up)), 1e-6)
    ahead = np.cross(across, up)
    if (p[1] - (left + right) / 2) @ ahead < 0:  # towards the nose, whichever way the mesh runs
        ahead = -ahead
    top = float((p[list(BROW_POINTS)] @ up).mean()) + ABOVE_BROWS * width
    bottom = float((p[list(MOUTH_CORNERS)] @ up).mean()) - BELOW_MOUTH * width
    yaw = yaw_3d(mesh)
    boxes = []
    for root, side in ((left, -1.0), (right, 1.0)):
        if side * yaw > HIDDEN_YAW:
            continue
        corners = [
            root + (height - root @ up) * up + side * out * width * across - back * width * ahead
            for out in OUT
            for back in BACK
            for height in (top, bottom)
        ]
        flat = np.round(np.array(corners)[:, :2]).astype(np.int32)
        boxes.append(cv2.convexHull(flat))
    return boxes


def _gaussian(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    cov = np.cov(x.T) + np.eye(3) * 4.0  # a floor: a flat patch is not a point
    return x.mean(0), np.linalg.inv(cov), float(np.log(np.linalg.det(cov)))


def _loglik(x: np.ndarray, g: tuple[np.ndarray, np.ndarray, float]) -> np.ndarray:
    mean, inverse, logdet = g
    d = x - mean
    # (d @ inverse) by BLAS, then each row's dot: a fifth of the time of one three-operand einsum.
    return -0.5 * (np.einsum("ij,ij->i", d @ inverse, d) + logdet)


def _clusters(x: np.ndarray, k: int) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Gaussians of `x`'s k-means clusters, started from its lightness terciles (deterministic)."""
    k = max(1, min(k, len(x) // 30))
    order = np.argsort(np.argsort(x[:, 0], kind="stable"), kind="stable")
    labels = (order * k // len(x)).astype(np.int32).reshape(-1, 1)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 1.0)
    _, labels, _ = cv2.kmeans(x, k, labels, criteria, 1, cv2.KMEANS_USE_INITIAL_LABELS)
    labels = labels.ravel()
    return [_gaussian(x[labels == i]) for i in range(k) if (labels == i).sum() > 10]


def add_ears(image: np.ndarray, alpha: np.ndarray, mesh: FaceMesh) -> tuple[np.ndarray, int]:
    """`alpha` with the visible ears it misses added (1 there), and how many pixels were added."""
    h, w = alpha.shape
    boxes = ear_boxes(mesh)
    if not boxes:
        return alpha, 0
    width = float(np.linalg.norm(mesh.points[CHEEK_R] - mesh.points[CHEEK_L]))
    # Everything below happens in a window round the face and its ears.
    near, ring = (max(1, round(r * width)) for r in RING)
    outline = np.vstack([b.reshape(-1, 2) for b in boxes] + [mesh.points[:, :2]])
    x0, y0 = np.maximum(np.floor(outline.min(0)).astype(int) - ring - 1, 0)
    x1, y1 = np.minimum(np.ceil(outline.max(0)).astype(int) + ring + 2, (w, h))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return alpha, 0
    offset = np.array([x0, y0], np.int32)
    crop = np.ascontiguousarray(image[y0:y1, x0:x1])
    lab = cv2.cvtColor(crop, cv2.COLOR_RGB2LAB).astype(np.float32)
    inside = alpha[y0:y1, x0:x1] > 0.5
    face = np.zeros(inside.shape, np.uint8)
    hull = cv2.convexHull(np.round(mesh.points[:, :2]).astype(np.int32) - offset)
    cv2.fillConvexPoly(face, hull, 1)
    skin = lab[(face > 0) & inside]
    if len(skin) < 50:
        return alpha, 0
    g = _gaussian(skin)
    fit = _loglik(skin, g)
    skin_model = _gaussian(skin[fit > np.percentile(fit, 20)])
    added = np.zeros(inside.shape, np.uint8)
    size = max(3, round(0.04 * width)) | 1
    close = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    size = max(3, round(OPEN * width)) | 1
    broad = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    reach = cv2.dilate(inside.astype(np.uint8), close) > 0
    for box in boxes:
        prior = np.zeros(inside.shape, np.uint8)
        cv2.fillConvexPoly(prior, box - offset, 1)
        # Looked at: the box and a margin round it, where a curtain or a pole reaches the
        # margin's edge and an ear does not; taken: the box. The background's sample lies beyond
        # the margin (an ear reaching past the box is not the background's).
        away = cv2.distanceTransform(1 - prior, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        zone = (away <= near).astype(np.uint8)
        around = (away <= ring) & (zone == 0) & ~inside
        candidates = (zone > 0) & ~inside
        if around.sum() < 50 or not candidates.any():
            continue
        background = _clusters(lab[around], CLUSTERS)
        x = lab[candidates]
        theirs = np.max([_loglik(x, b) for b in background], axis=0)
        ours = _loglik(x, skin_model)
        ear = np.zeros(inside.shape, np.uint8)
        ear[candidates] = ours > theirs
        if ear.sum() > 30:  # again, with the ear's own colour as found
            ours = np.maximum(ours, _loglik(x, _gaussian(lab[ear > 0])))
            ear[candidates] = ours > theirs
        ear = cv2.morphologyEx(ear, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        # Only what joins the matte, or comes within a crease of it (the shadow where the ear
        # meets the head reads as background): a skin-coloured speck out in the box is not an
        # ear. (Taking also what comes within a crease of what joined, for a strip of the rim
        # beyond a shadowed fold, took the soft pink edge between a red curtain and a window.)
        _, labels = cv2.connectedComponents(ear, connectivity=8)
        joined = np.isin(labels, np.unique(labels[reach & (ear > 0)])) & (ear > 0)
        joined = _within(joined.astype(np.uint8), zone, reach)
        whole = cv2.morphologyEx((joined | inside).astype(np.uint8), cv2.MORPH_CLOSE, close)
        whole = cv2.morphologyEx(whole, cv2.MORPH_OPEN, broad) | inside.astype(np.uint8)
        whole = np.where(keep_holes_over(whole, 0.05 * width * width), whole, 1)
        added |= (whole > 0) & (prior > 0) & ~inside
    count = int(added.sum())
    if count:
        alpha = alpha.copy()
        alpha[y0:y1, x0:x1][added > 0] = 1.0
    return alpha, count


def _within(found: np.ndarray, zone: np.ndarray, head: np.ndarray) -> np.ndarray:
    """The regions of `found` (uint8 0/1) that lie within `zone` (uint8 0/1: a box and the margin
    round it), as a bool mask: an ear does, while a curtain beside the head runs on past it, its
    outline cut by the zone's edge (or the frame's), away from the head (`head`, bool), for more
    than `CUT_EDGE` of its length."""
    kernel = np.ones((3, 3), np.uint8)

    def edge(mask: np.ndarray) -> np.ndarray:  # the frame's border is an edge too
        return (mask - cv2.erode(mask, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)) > 0

    rim = edge(zone)
    rim &= ~head
    count, labels = cv2.connectedComponents(found, connectivity=8)
    keep = np.zeros(found.shape, bool)
    for label in range(1, count):
        part = (labels == label).astype(np.uint8)
        outline = edge(part)
        if (outline & rim).sum() <= CUT_EDGE * max(1, int(outline.sum())):
            keep |= part > 0
    return keep
