"""The portrait engine's contract with the 3D face: the request's length and size, the
debugoutput (which face, which path), the fallback, other faces kept still, cancellation."""

from __future__ import annotations

import os
import threading

import cv2
import numpy as np
import pytest
from PIL import Image

from subject2video.engines.base import Face, GenerationRequest, NullContext
from subject2video.engines.portrait import PortraitEngine
from subject2video.engines.portrait.landmarks import get_mesher
from subject2video.engines.portrait.plan import plan_motion
from subject2video.engines.portrait.segment import get_segmenter
from subject2video.errors import Cancelled
from subject2video.media.faces import get_analyzer
from tests.utils.images import face_rgb, second_face_rgb


def make(image: np.ndarray, prompt: str, *, size: tuple[int, int], frames: int, fps: int = 25):
    face = get_analyzer().subject(image)
    return GenerationRequest(
        image=image, face=face, prompt=prompt, seed=3, width=size[0], height=size[1],
        fps=fps, frames=frames,
    )  # fmt: skip


def test_length_fps_and_size_come_from_the_request() -> None:
    request = make(face_rgb(), "She turns her head to the left", size=(480, 592), frames=37, fps=20)
    context = NullContext()
    engine = PortraitEngine()
    frames = list(engine.frames(request, context))
    assert len(frames) == 37
    assert all(f.shape == (592, 480, 3) and f.dtype == np.uint8 for f in frames)
    assert engine.used == "3d"
    log = "\n".join(context.lines)
    assert "motion plan: read turn_left" in log
    assert "3D face mesh" in log and "subject box (" in log


def test_a_longer_video_is_not_a_stretched_shorter_one() -> None:
    prompt = "She turns her head to the left"
    short, long = plan_motion(prompt, 5, 150, 25), plan_motion(prompt, 5, 250, 25)

    def reached(plan) -> float:
        yaw = plan.curves["yaw"]
        return float(np.argmax(yaw <= 0.9 * yaw.min()) / plan.fps)

    # The turn takes as long in 10 s as in 6 s; the longer video has more life, not slower life.
    assert abs(reached(short) - reached(long)) < 0.3
    assert long.describe().count(",") >= short.describe().count(",")
    blinks = [
        int(np.sum(np.diff((p.curves["blink_l"] > 0.5).astype(int)) == 1)) for p in (short, long)
    ]
    assert blinks[1] > blinks[0]


def test_a_face_too_small_for_the_mesh_falls_back_to_2d_and_says_so() -> None:
    # Small in the photo too (her face about 33 px): at output size 160, nothing to read it from.
    small = np.asarray(Image.fromarray(face_rgb()).resize((160, 160), Image.LANCZOS))
    box = tuple(round(v * 160 / 512) for v in get_analyzer().subject(face_rgb()).box)
    request = GenerationRequest(
        image=small, face=Face(box=box), prompt="She smiles", seed=3, width=160, height=160,
        frames=6,
    )  # fmt: skip
    context = NullContext()
    engine = PortraitEngine()
    frames = list(engine.frames(request, context))
    assert len(frames) == 6 and frames[0].shape == (160, 160, 3)
    assert engine.used == "2d"
    log = "\n".join(context.lines)
    assert "too small for the mesh" in log and "falling back to the 2D landmark warp" in log


def test_the_largest_face_is_the_subject_and_the_other_stays_still() -> None:
    big = face_rgb()
    small = np.asarray(Image.fromarray(second_face_rgb()).resize((200, 234)))
    canvas = np.full((512, 800, 3), 120, np.uint8)
    canvas[:, :512] = big
    canvas[150:384, 560:760] = small
    request = make(canvas, "She laughs and turns her head to the right", size=(800, 512), frames=30)
    context = NullContext()
    frames = np.stack(list(PortraitEngine().frames(request, context)))
    log = "\n".join(context.lines)
    x0, y0, x1, y1 = request.face.box
    assert f"subject box ({x0}, {y0}, {x1}, {y1})" in log
    assert x1 <= 512  # the astronaut, the larger face
    other = frames[:, 170:370, 580:740].astype(np.int16)
    assert np.abs(other - other[0]).max() <= 2
    subject = frames[:, y0:y1, x0:x1].astype(np.int16)
    assert np.abs(subject - subject[0]).mean(axis=(1, 2, 3)).max() > 5


def test_what_never_moves_is_the_photo() -> None:
    """Below the astronaut's shoulders (her arms, the helmet on her lap) the body's motion moves
    little or nothing: with a still camera whatever stays still there is the photo itself. The
    plate's fill used to show through the matte's soft and ragged edges there, the same in every
    frame (a seam down the helmet's clamp, the flag beside her arm smeared: 4.8% of the still
    pixels there were off the photo by more than 8 levels)."""
    image = face_rgb()
    request = make(image, "She laughs and turns her head to the right", size=(512, 512), frames=40)
    frames = np.stack(list(PortraitEngine().frames(request, NullContext()))).astype(np.int16)
    photo = image.astype(np.int16)
    clamp = (slice(412, 512), slice(448, 512))  # the helmet's clamp, beyond the body's reach
    assert np.abs(frames[(slice(None), *clamp)] - photo[clamp]).max() <= 2
    below = slice(380, 512)
    still = (frames[:, below].max(0) - frames[:, below].min(0)).max(2) <= 1
    off = np.abs(frames[0, below] - photo[below]).max(2) > 8
    assert still.mean() > 0.2
    assert (still & off).sum() <= 0.01 * still.sum()
    # The head moves all the same.
    x0, y0, x1, y1 = request.face.box
    head = frames[:, y0:y1, x0:x1]
    assert np.abs(head - head[0]).mean(axis=(1, 2, 3)).max() > 5


def test_a_face_just_beside_the_subjects_head_stays_whole_and_still() -> None:
    """Grace Hopper's head pasted against the astronaut's hair (her face 0.9 face widths from
    the astronaut's, inside the ellipse that keeps the subject's own head and hair): the selfie
    model reads one person, and the part of her face within that ellipse used to be the
    subject's, so her face was cut in two and half of it turned with the astronaut's head. Now
    another's head is theirs: every frame shows it as the photo has it."""
    astronaut, hopper = face_rgb(), second_face_rgb()
    canvas = np.zeros((512, 640, 3), np.uint8)
    canvas[:, :512], canvas[:, 512:] = astronaut, astronaut[:, 384:]
    x0, y0, x1, y1 = get_analyzer().subject(hopper).box
    ax0, ay0, ax1, ay1 = get_analyzer().subject(astronaut).box
    scale = 0.85 * (ax1 - ax0) / (x1 - x0)
    small = cv2.resize(hopper, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    cx, cy = round((x0 + x1) / 2 * scale), round((y0 + y1) / 2 * scale)
    half_w, half_h = round(0.75 * (x1 - x0) * scale), round((x1 - x0) * scale)
    patch = small[cy - half_h : cy + round(1.4 * half_h), cx - half_w : cx + half_w]
    left = round((ax0 + ax1) / 2 + 0.9 * (ax1 - ax0)) - half_w
    top = round((ay0 + ay1) / 2) - 10 - half_h
    canvas[top : top + patch.shape[0], left : left + patch.shape[1]] = patch
    request = make(canvas, "She laughs and turns her head to the right", size=(640, 512), frames=40)
    frames = np.stack(list(PortraitEngine().frames(request, NullContext()))).astype(np.int16)
    other = max(get_analyzer().detect(canvas, landmarks=False), key=lambda f: f.box[0]).box
    assert other[0] > request.face.box[2] - 4  # the astronaut is the subject
    ox0, oy0, ox1, oy1 = other
    theirs = frames[:, oy0:oy1, ox0 + 6 : ox1]  # clear of the subject's cheek by a few pixels
    assert np.abs(theirs - canvas[oy0:oy1, ox0 + 6 : ox1]).max() <= 2
    x0, y0, x1, y1 = request.face.box
    head = frames[:, y0:y1, x0:x1]
    assert np.abs(head - head[0]).mean(axis=(1, 2, 3)).max() > 5


class _KillAfter(NullContext):
    def __init__(self, frames: int) -> None:
        super().__init__()
        self.left = frames

    def progress(self, done: int, total: int, *, task: str = "Generate") -> None:
        self.left -= 1

    def check_cancelled(self) -> None:
        if self.left <= 0:
            raise Cancelled("killed")


@pytest.mark.parametrize("prefetch", [False, True])
def test_a_kill_stops_the_frames(prefetch: bool) -> None:
    request = make(face_rgb(), "She nods", size=(256, 256), frames=50)
    made = []
    with pytest.raises(Cancelled):
        for frame in PortraitEngine(prefetch=prefetch).frames(request, _KillAfter(5)):
            made.append(frame)
    assert len(made) == 5
    assert not [t for t in threading.enumerate() if t.name == "portrait-geometry"]


def test_geometry_made_ahead_in_a_thread_gives_the_same_frames() -> None:
    request = make(face_rgb(), "She talks and turns her head while the camera pushes in",
                   size=(256, 256), frames=30)  # fmt: skip
    alone = list(PortraitEngine(prefetch=False).frames(request, NullContext()))
    ahead = list(PortraitEngine(prefetch=True).frames(request, NullContext()))
    assert all(np.array_equal(a, b) for a, b in zip(alone, ahead, strict=True))


def test_the_photo_models_are_let_go_while_the_frames_are_made() -> None:
    """The face mesh and the person segmentation read the photo once, before the frames: they
    are not held through the render (where the memory peaks), and the next video loads them
    again and makes the same frames."""
    request = make(face_rgb(), "She smiles and turns her head", size=(256, 256), frames=12)
    frames = PortraitEngine(prefetch=False).frames(request, NullContext())
    first = next(frames)
    assert get_mesher.cache_info().currsize == 0
    assert get_segmenter.cache_info().currsize == 0
    video = [first, *frames]
    again = list(PortraitEngine(prefetch=False).frames(request, NullContext()))
    assert all(np.array_equal(a, b) for a, b in zip(video, again, strict=True))


def test_a_box_is_all_the_engine_needs() -> None:
    """The runner finds the subject's box only (no landmarks): the 3D path needs none, even where
    the face is small at output size (the mesh is read in the full-size photo)."""
    image = face_rgb()
    face = get_analyzer().subject(image, landmarks=False)
    assert face.landmarks is None
    # At 160 px her face is 33 px: too small at output size, so the mesh is read in the photo.
    for size, used in (((512, 512), "3d"), ((160, 160), "3d")):
        request = GenerationRequest(
            image=image, face=face, prompt="She smiles", seed=1, width=size[0], height=size[1],
            frames=4,
        )  # fmt: skip
        engine = PortraitEngine()
        frames = list(engine.frames(request, NullContext()))
        assert engine.used == used and len(frames) == 4


def test_a_camera_move_resamples_the_photo_once() -> None:
    """The camera is folded into the subject's one remap from the photo (and the plate's one
    warp): at the end of a push-in the face is as sharp as the photo moved once by the same
    camera, not resampled twice (a warp of the rendered frame blurred it by a third)."""
    image = face_rgb()
    request = make(image, "The camera pushes in", size=(512, 512), frames=40)
    engine = PortraitEngine()
    last = list(engine.frames(request, NullContext()))[-1]
    camera, _ = engine.cameras[-1]
    assert camera is not None and camera[0, 0] > 1.05
    once = cv2.warpAffine(image, camera, (512, 512), flags=cv2.INTER_LINEAR)
    corners = np.array(request.face.box, np.float64).reshape(2, 2) @ camera[:, :2].T + camera[:, 2]
    (x0, y0), (x1, y1) = np.round(corners).astype(int)

    def sharpness(frame: np.ndarray) -> float:
        grey = cv2.cvtColor(frame[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY).astype(np.float32)
        return float(cv2.Laplacian(grey, cv2.CV_32F).var())

    assert sharpness(last) > 0.85 * sharpness(once), (sharpness(last), sharpness(once))


@pytest.mark.parametrize(("cores", "ahead"), [(1, False), (2, False), (3, True), (16, True)])
def test_geometry_is_made_ahead_only_where_it_has_a_core(
    monkeypatch: pytest.MonkeyPatch, cores: int, ahead: bool
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    assert PortraitEngine().prefetch is ahead
    assert PortraitEngine(prefetch=not ahead).prefetch is not ahead
