"""`s2v eval --sheet`: the contact sheet of frames with the face enlarged, and the new lines of
the report, on a short video of the astronaut."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from typer.testing import CliRunner

from subject2video.cli import app
from subject2video.media.faces import get_analyzer
from subject2video.media.video import Mp4Writer
from subject2video.quality.sheet import TILE, contact_sheet, mouth_crop, mouth_row, picks
from tests.utils.images import face_rgb, second_face_rgb


def test_picks_spread_from_first_to_last() -> None:
    assert picks(150, 8) == [0, 21, 43, 64, 85, 106, 128, 149]
    assert picks(3, 8) == [0, 1, 2]
    assert picks(0) == []


def test_the_sheet_shows_whole_frames_over_enlarged_faces() -> None:
    frames = [face_rgb()] * 9
    sheet = contact_sheet(iter(frames), total=9, count=3)
    assert sheet.shape == (2 * TILE, 3 * TILE, 3)
    whole, enlarged = sheet[:TILE, :TILE], sheet[TILE:, :TILE]
    small = get_analyzer().detect(np.ascontiguousarray(whole))
    big = get_analyzer().detect(np.ascontiguousarray(enlarged))
    assert big, "no face in the enlarged tile"
    assert big[0].width > 0.35 * TILE
    assert not small or big[0].width > 2 * small[0].width


def test_eval_writes_the_sheet_and_reports_the_new_measures(tmp_path: Path) -> None:
    image = face_rgb()
    reference = tmp_path / "photo.png"
    Image.fromarray(image).save(reference)
    video = tmp_path / "video.mp4"
    with Mp4Writer(video, 512, 512) as writer:
        for _ in range(12):
            writer.write(image)
    sheet = tmp_path / "sheet.png"
    result = CliRunner().invoke(
        app,
        ["eval", str(video), "--reference", str(reference), "--sheet", str(sheet),
         "--seed", "1", "--prompt", "She turns her head to the left"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "pose reached: yaw" in result.output
    assert "pose against the plan: yaw_min" in result.output
    assert "blink closure" in result.output
    # A still video reaches none of the turn it was asked for.
    assert "turn_left    NOT found" in result.output
    with Image.open(sheet) as png:
        assert png.size == (8 * TILE, 2 * TILE)
    # The JSON form: the measures, not the per-frame boxes the sheet's crops follow.
    as_json = CliRunner().invoke(
        app, ["eval", str(video), "--reference", str(reference), "--json"]
    )  # fmt: skip
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.output[as_json.output.index("{") :])
    assert data["frames"] == 12 and "subject_boxes" not in data


def test_the_mouth_row_puts_the_most_open_mouths_beside_real_ones(tmp_path: Path) -> None:
    """The row picks frames by dlib's lip gap (here the smiling astronaut over closed-mouthed
    Grace Hopper), enlarges the mouth, and adds the real photos' mouths; `--open-mouth` puts it
    under the sheet."""
    astronaut, hopper = face_rgb(), second_face_rgb()
    row = mouth_row(iter([hopper, astronaut]), [("real", astronaut)], step=1, count=1)
    assert row.shape == (TILE, 2 * TILE, 3)
    marks = get_analyzer().detect(astronaut)[0].landmarks
    assert marks is not None
    wanted = mouth_crop(astronaut, marks)
    # Both tiles are the astronaut's open mouth (below the label band), not Grace Hopper's.
    assert np.abs(row[40:, :TILE].astype(int) - wanted[40:]).mean() < 1
    assert np.abs(row[40:, TILE:].astype(int) - wanted[40:]).mean() < 1
    teeth = wanted[TILE // 3 : 2 * TILE // 3, TILE // 3 : 2 * TILE // 3].mean()
    assert teeth > 150  # the enlarged crop is her teeth, not her chin or the background
    reference, video = tmp_path / "photo.png", tmp_path / "video.mp4"
    Image.fromarray(hopper).save(reference)
    Image.fromarray(astronaut).save(tmp_path / "open.png")
    with Mp4Writer(video, 512, 512) as writer:
        for _ in range(4):
            writer.write(astronaut)
    sheet = tmp_path / "sheet.png"
    result = CliRunner().invoke(
        app,
        ["eval", str(video), "--reference", str(reference), "--sheet", str(sheet),
         "--open-mouth", str(tmp_path / "open.png")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with Image.open(sheet) as png:
        assert png.size == (4 * TILE, 3 * TILE)  # frames, faces, then the mouths


def test_the_sheets_faces_follow_the_tracked_subject_not_the_largest_face() -> None:
    # Grace Hopper at a third of her size (a smaller face) beside the astronaut: given her box
    # (as `evaluate` tracks the subject), the enlarged tiles are her face; without it, the
    # largest face, the astronaut's.
    analyzer = get_analyzer()
    astronaut, hopper = face_rgb(), second_face_rgb()
    small = cv2.resize(
        hopper, (hopper.shape[1] // 3, hopper.shape[0] // 3), interpolation=cv2.INTER_AREA
    )
    frame = np.zeros((astronaut.shape[0], astronaut.shape[1] + small.shape[1], 3), np.uint8)
    frame[:, : astronaut.shape[1]] = astronaut
    frame[: small.shape[0], astronaut.shape[1] :] = small
    hers = next(f for f in analyzer.detect(frame) if f.center[0] > astronaut.shape[1])

    def who(tile: np.ndarray) -> str:
        face = analyzer.detect(np.ascontiguousarray(tile))[0]
        assert face.landmarks is not None
        seen = analyzer.descriptor(np.ascontiguousarray(tile), face.landmarks)
        known = {"astronaut": astronaut, "hopper": hopper}
        return min(known, key=lambda k: np.linalg.norm(seen - _descriptor(known[k])))

    # Where the tracking lost her (None: a face turned away), the crop stays where she was.
    followed = contact_sheet(iter([frame] * 3), total=3, count=3, boxes=[None, hers.box, None])
    largest = contact_sheet(iter([frame] * 3), total=3, count=3)
    for tile in range(3):
        assert who(followed[TILE:, tile * TILE : (tile + 1) * TILE]) == "hopper"
    assert who(largest[TILE:, :TILE]) == "astronaut"


def _descriptor(photo: np.ndarray) -> np.ndarray:
    face = get_analyzer().detect(photo)[0]
    assert face.landmarks is not None
    return get_analyzer().descriptor(photo, face.landmarks)
