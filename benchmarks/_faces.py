"""The two public-domain faces the benchmarks use (see tests/utils/images.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.utils.images import face_rgb, second_face_rgb

FACES = {"astronaut": face_rgb, "hopper": second_face_rgb}
