"""Index tables of MediaPipe's 468-point face mesh, written from its published topology.

Screen left and right are as the viewer sees an unmirrored photo: MediaPipe's "right eye"
(landmarks 33-133) is the subject's right, on screen left. Each lid and lip list runs from the
outer (or screen-left) corner to the other corner, so the upper and lower lists pair up index by
index.
"""

from __future__ import annotations

import numpy as np

#: Upper and lower lid margins of the screen-left eye, corner to corner (33 outer, 133 inner).
LID_UPPER_L = (33, 246, 161, 160, 159, 158, 157, 173, 133)
LID_LOWER_L = (33, 7, 163, 144, 145, 153, 154, 155, 133)
#: The same for the screen-right eye (263 outer, 362 inner).
LID_UPPER_R = (263, 466, 388, 387, 386, 385, 384, 398, 362)
LID_LOWER_R = (263, 249, 390, 373, 374, 380, 381, 382, 362)
#: The lid's skin above the margin (the crease ring), which follows a closing lid part way.
CREASE_L = (130, 247, 30, 29, 27, 28, 56, 190, 243)
CREASE_R = (359, 467, 260, 259, 257, 258, 286, 414, 463)
#: The ring under the lower lid.
UNDER_L = (25, 110, 24, 23, 22, 26, 112)
UNDER_R = (255, 339, 254, 253, 252, 256, 341)

EYES = {
    "l": (LID_UPPER_L, LID_LOWER_L, CREASE_L, UNDER_L),
    "r": (LID_UPPER_R, LID_LOWER_R, CREASE_R, UNDER_R),
}

#: Inner lip contour, screen-left corner (78) to screen-right corner (308).
LIP_INNER_UPPER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LIP_INNER_LOWER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
#: Outer lip contour, corner (61) to corner (291).
LIP_OUTER_UPPER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
LIP_OUTER_LOWER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)

#: The face's outline, clockwise from the top of the forehead (10).
FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip

#: Brows, screen-left then screen-right (upper edge, then lower edge).
BROWS = (70, 63, 105, 66, 107, 46, 53, 52, 65, 55, 300, 293, 334, 296, 336, 276, 283, 282, 295, 285)

NOSE_TIP, CHIN, FOREHEAD = 1, 152, 10
#: The nose's ridge, tip, wings and base: its relief is what a turn shows first.
NOSE_RIDGE = (168, 6, 197, 195, 5, 4, 1, 19, 94, 2, 98, 327, 64, 294, 48, 278, 115, 344, 220, 440)
CHEEK_L, CHEEK_R = 234, 454
EYE_CORNERS = {"l": (33, 133), "r": (263, 362)}

#: The mesh point nearest each of dlib's 68 landmarks, so the 68-point geometry (the matte's
#: head prior, the fallback engine's measures) can be read off the mesh.
DLIB68 = np.array(
    [162, 234, 93, 58, 172, 136, 149, 148, 152, 377, 378, 365, 397, 288, 323, 454, 389,
     70, 63, 105, 66, 107, 336, 296, 334, 293, 300,
     168, 197, 5, 4, 75, 97, 2, 326, 305,
     33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380,
     61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181,
     78, 82, 13, 312, 308, 317, 14, 87],
)  # fmt: skip

#: Lower-face points and how much of a dropped jaw each follows (1: the chin; the mouth's
#: corners and the cheeks follow less).
JAW_FOLLOW_BELOW = 0.15

#: The points on the mesh's midline, their own mirror images. MediaPipe's canonical face model is
#: left-right symmetric, and its other points pair up in order: the k-th point below 248 that is
#: not on the midline (the screen-left half) mirrors point 248 + k (the screen-right half).
MIDLINE = (0, 1, 2, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 94, 151, 152, 164,
           168, 175, 195, 197, 199, 200)  # fmt: skip


def mirror_pairs() -> np.ndarray:
    """(468,): each mesh point's mirror image across the face's midline (itself on the
    midline)."""
    pairs = np.arange(468)
    left = [i for i in range(248) if i not in MIDLINE]
    pairs[left] = np.arange(248, 468)
    pairs[248:] = left
    return pairs
