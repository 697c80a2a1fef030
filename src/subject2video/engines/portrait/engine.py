"""The portrait engine: the person in the photo comes alive, on any CPU.

1. analysis: the photo at output size and the subject's 3D face mesh (MediaPipe, via LiteRT);
   a face the mesh cannot read falls back to the 2D warp on dlib's 68 landmarks (debugoutput
   says which, and why);
2. plan: the prompt read into per-frame motion curves (logged to the task's debugoutput);
3. matte: the subject's alpha (MediaPipe's selfie segmentation, kept to the subject, its edges
   refined by a guided filter) and the background plate;
4. render: per frame, its geometry (the rig moved by the plan, the head turned in 3D and drawn
   back to front, in the camera's view) and its pixels (one remap of the subject from the photo,
   over the plate as the camera sees it, then the lids and the mouth's interior).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import cv2
import numpy as np

from subject2video.engines.base import GenerationContext, GenerationRequest
from subject2video.engines.portrait.ears import add_ears
from subject2video.engines.portrait.face3d import Reading, read_face
from subject2video.engines.portrait.landmarks import FaceMesh, get_mesher
from subject2video.engines.portrait.matte import FaceGeometry, background_plate, subject_matte
from subject2video.engines.portrait.mesh import Rig, body_shift
from subject2video.engines.portrait.plan import PUSH_ZOOM, MotionPlan, plan_motion
from subject2video.engines.portrait.render import (
    Lattices,
    Renderer,
    camera_matrix,
    camera_points,
)
from subject2video.engines.portrait.render3d import Lattices3D, Renderer3D
from subject2video.engines.portrait.rig3d import Rig3D
from subject2video.engines.portrait.scene import Grader, Scene, defocus, read_scene
from subject2video.engines.portrait.segment import get_segmenter
from subject2video.media.detector import get_detector

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R", Rig, Rig3D)
D = TypeVar("D", bound=Renderer)

#: The cores from which a frame's geometry is made ahead in its own thread by default.
PREFETCH_CORES = 3
#: A frame's camera and the plate's own move behind the subject (2x3 affines; None: still).
View = tuple[np.ndarray | None, np.ndarray | None]
#: A frame's geometry: its remap lattices (in 3D with the far side's mirrored texture) and its
#: vertices' positions in the camera's view.
Shaped = tuple[Lattices | Lattices3D, np.ndarray]


class PortraitEngine:
    """Animates the subject of a face photo as the prompt asks; the background stays still."""

    name = "portrait"
    #: Cores one task keeps busy, encoding included (S2V_WORKERS' default): measured 0.5-0.7 CPU
    #: seconds per wall second on a shared 2-core machine (benchmarks/workers_bench.py), so one.
    cpu_threads = 1.0

    def __init__(self, prefetch: bool | None = None, mode: str = "auto") -> None:
        #: Make each frame's geometry (the mesh moved, its remap lattices) in a thread, a frame
        #: or two ahead of its pixels (the remap, the plate, the mouth), which this thread makes
        #: while the encoder works in its own; the same frames either way. None: only where
        #: that thread has a core of its own beside the engine's and the encoder's (3 or more).
        #: On two quiet cores, with the encoder on the other core (`encoder_threads`), the video
        #: with its encoding took 5-9% more wall time with it, in each of the portrait bench's
        #: four rows (README).
        cores = os.cpu_count() or 1
        self.prefetch = prefetch if prefetch is not None else cores >= PREFETCH_CORES
        #: Seconds spent in each stage of the last video (render includes the consumer's time).
        self.timings: dict[str, float] = {}
        self.plan: MotionPlan | None = None
        #: "auto" (3D where the mesh reads the face, else 2D) or "2d" (the 2D warp only).
        self.mode = mode
        #: Which path made the last video: "3d" or "2d".
        self.used = ""
        self._box: tuple[int, int, int, int] = (0, 0, 0, 0)
        #: The other people's faces in the last video's photo (boxes; kept in the plate).
        self._others: list[tuple[int, int, int, int]] = []
        #: Where the last photo's matte left out a person or a thing it read (`Layers.others`).
        self._beyond: np.ndarray | None = None
        self._scene: Scene | None = None
        #: The last video's cameras, frame by frame (see `View`).
        self.cameras: list[View] = []

    def setup(self) -> None:
        """Load the face-mesh models now rather than on the first task."""
        get_mesher()

    def frames(
        self, request: GenerationRequest, context: GenerationContext
    ) -> Iterator[np.ndarray]:
        """Yield `request.frames` RGB frames of the animated portrait."""
        size = (request.width, request.height)
        started = time.perf_counter()
        image, box = _at_size(request, size)
        self._box = box
        reading = (
            read_face(image, box, request.image, request.face.box) if self.mode != "2d" else None
        )
        self.timings = {"analysis": time.perf_counter() - started}
        context.check_cancelled()
        plan = plan_motion(
            request.prompt, request.seed, request.frames, request.fps, request.speech
        )
        self.plan = plan
        context.log(plan.describe())
        scene = read_scene(request.prompt, plan.camera_moves)
        self._scene = scene
        scale = size[0] / request.image.shape[1]
        pushed_to = _push_to_close_up(plan, request.close_up, size, scale)
        pushed_zoom = float(plan.curves["zoom"].max())
        if pushed_to is not None:
            context.log(
                f"camera: pushes in from the photo's wide view to the close-up, zoom 1.00 -> "
                f"{pushed_zoom:.2f}"
            )
        _lens_moves(plan, scene)
        context.log(scene.describe())
        three_d = reading is not None and reading.mesh is not None and reading.geo is not None
        if three_d:
            assert reading is not None and reading.geo is not None
            geo = reading.geo
        else:
            landmarks = _landmarks_2d(request, image, size)
            geo = FaceGeometry.of(landmarks)
        moving = np.any(plan.curves["pan"]) or np.any(plan.curves["lift"])
        target = (size[0] / 2, size[1] / 2) if moving else geo.center
        if pushed_to is not None:
            target = pushed_to
        views = [
            _view(plan.at(i), size, target, scene.parallax, pushed_zoom if pushed_to else None)
            for i in range(request.frames)
        ]
        self.cameras = views
        if three_d:
            assert reading is not None
            self.used = "3d"
            context.log("portrait: " + reading.line)
            shape, paint = self._prepare_3d(image, reading, plan, views, context)
        else:
            why = reading.line if reading is not None else "2D engine chosen"
            self.used = "2d"
            context.log(f"portrait: {why}; falling back to the 2D landmark warp")
            shape, paint = self._prepare_2d(image, geo, plan, views, context)
        context.check_cancelled()
        release_face_models()

        mark = time.perf_counter()
        count = request.frames
        shapes = _ahead(shape, count) if self.prefetch else map(shape, range(count))
        for index, shaped in enumerate(shapes):
            frame = cv2.cvtColor(paint(index, shaped), cv2.COLOR_RGBA2RGB)
            context.check_cancelled()
            yield frame
            context.progress(index + 1, count)
        self.timings["render"] = time.perf_counter() - mark
        context.log(
            "portrait timings: "
            + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in self.timings.items())
        )

    def _matte(
        self,
        image: np.ndarray,
        context: GenerationContext,
        mesh: FaceMesh | None = None,
    ) -> np.ndarray:
        """The subject's matte (timed; a kill point after). With the face's mesh, the ears the
        matte misses are added (`ears`)."""
        mark = time.perf_counter()
        box = self._box
        # The other people in the photo stay in the plate: their faces bound the subject's matte.
        others = [f.box for f in get_detector().detect(image) if _iou(f.box, box) < 0.3]
        self._others = others
        layers = subject_matte(image, box, others)
        alpha, self._beyond = layers.alpha, layers.others
        if mesh is not None:
            alpha, added = add_ears(image, alpha, mesh)
            if added:
                context.log(f"portrait: {added} px of ear the person matte missed added to it")
        if others:
            context.log(f"portrait: {len(others)} other face(s) kept still in the background")
        self.timings["matte"] = time.perf_counter() - mark
        context.check_cancelled()
        return alpha

    def _plate(self, image: np.ndarray, alpha: np.ndarray, geo: FaceGeometry) -> np.ndarray:
        """The background plate behind the subject (timed), made while the rig is built in a
        thread (`_rigged`)."""
        mark = time.perf_counter()
        grow = int(0.06 * geo.width) + 6
        plate = background_plate(image, alpha, grow, self._others, self._beyond)
        if self._scene is not None and self._scene.shallow:
            plate = defocus(plate, self._box[3] - self._box[1])
        self.timings["plate"] = time.perf_counter() - mark
        return plate

    def _rigged(
        self,
        image: np.ndarray,
        alpha: np.ndarray,
        geo: FaceGeometry,
        views: list[View],
        build: Callable[[], R],
        make: Callable[[np.ndarray, np.ndarray, np.ndarray, R], D],
    ) -> tuple[R, D]:
        """The rig (`build`, timed, in a thread) and the plate (`_plate`, in this one) side by
        side, then the renderer (`make`, set up for the video). The rig is mostly Python, the
        plate OpenCV, which lets go of the GIL, so the two overlap: the first frame comes 10-20
        ms sooner on the portrait bench, time the encoder has nothing to do. The plate's large
        arrays stay in this thread's heap, which `release_face_models` trims: made in the
        thread, they took 6 MB more of `s2v generate`'s peak, the rig there 3 MB."""

        def timed() -> R:
            mark = time.perf_counter()
            rig = build()
            self.timings["rig"] = time.perf_counter() - mark
            return rig

        with ThreadPoolExecutor(1, thread_name_prefix="portrait-rig") as pool:
            rigged = pool.submit(timed)
            plate = self._plate(image, alpha, geo)
            rig = rigged.result()
        renderer = make(image, alpha, plate, rig)
        self._ready(renderer, views)
        return rig, renderer

    def _ready(self, renderer: Renderer, views: list[View]) -> None:
        """Set a renderer up for the video: the scene's grade given to the photo's pixels once,
        an out-of-focus plate said so, the cameras followed; for a still camera and a sharp
        plate, the photo kept behind what never moves (`Renderer.keep_still`)."""
        shallow = self._scene is not None and self._scene.shallow
        if not shallow and all(camera is None for camera, _ in views):
            mark = time.perf_counter()
            shift_x, shift_y = body_shift(renderer.rig.geo, self.plan.curves)
            kept = renderer.keep_still(float(np.max(np.hypot(shift_x, shift_y))))
            logger.debug("portrait: the photo kept in the plate behind %d still pixels", kept)
            self.timings["plate"] = self.timings.get("plate", 0.0) + time.perf_counter() - mark
        if self._scene is not None and self._scene.grade:
            renderer.grade(Grader(self._scene.grade))
        if shallow:
            renderer.soft_plate()  # `_plate` blurred it
        renderer.follow_camera([camera for camera, _ in views])

    def _prepare_3d(
        self,
        image: np.ndarray,
        reading: Reading,
        plan: MotionPlan,
        views: list[View],
        context: GenerationContext,
    ) -> tuple[Callable[[int], Shaped], Callable[[int, Shaped], np.ndarray]]:
        """Matte, plate and 3D rig; returns a frame's two halves: its geometry (`shape`) and its
        pixels (`paint`, RGBA, in the camera's view)."""
        assert reading.mesh is not None and reading.geo is not None
        geo = reading.geo
        alpha = self._matte(image, context, reading.mesh)
        mesh = reading.mesh
        rig, renderer = self._rigged(
            image, alpha, geo, views, lambda: Rig3D.build(mesh, geo, alpha), Renderer3D
        )
        # The turn as the mesh's 3D cheek line gives it (`head_yaw`): the rig's `photo_yaw`,
        # the nose's place between the cheeks, measures how little of the far side the photo
        # shows, and reads a three-quarter view as -90.
        turns = []
        if rig.reveal < 1:
            turns.append(f"turns back towards the camera go {100 * rig.reveal:.0f}% of the way")
        if rig.away < 1:
            turns.append(f"turns further away {100 * rig.away:.0f}%")
        context.log(
            f"portrait: matte {100 * float(alpha.mean()):.0f}% of the frame; rig "
            f"{len(rig.rest)} vertices, {len(rig.triangles)} triangles; mouth palette "
            f"{'the photo' + chr(39) + 's own teeth' if renderer.mouth.own else 'painted teeth'}"
            + (
                f"; turned {rig.head_yaw:+.0f}° in the photo, so " + " and ".join(turns)
                if turns
                else ""
            )
        )
        cache: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

        def positions(index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            if index not in cache:
                values = plan.at(index)
                moved, depth = rig.positions(values)
                seen = camera_points(views[index][0], moved)
                cache[index] = (seen, depth, rig.sources(values, moved))
                for old in [k for k in cache if k < index - 2]:
                    del cache[old]
            return cache[index]

        body = _BodyMaps(lambda i: renderer.body_maps3d(*positions(i)), plan.frames)

        def shape(index: int) -> Shaped:
            moved, depth, source = positions(index)
            return renderer.lattices3d(moved, depth, source, body.at(index)), moved

        def paint(index: int, shaped: Shaped) -> np.ndarray:
            lattices, moved = shaped
            assert len(lattices) == 3  # 3D: `lattices3d`'s, with the mirrored texture
            v = plan.at(index)
            closures = (v["blink_l"], v["blink_r"])
            return renderer.compose3d(
                lattices, moved, v["mouth"], closures,
                tongue=v["tongue"], retract=max(v["smile"], v["spread"]),
                backdrop=views[index][1],
            )  # fmt: skip

        return shape, paint

    def _prepare_2d(
        self,
        image: np.ndarray,
        geo: FaceGeometry,
        plan: MotionPlan,
        views: list[View],
        context: GenerationContext,
    ) -> tuple[Callable[[int], Shaped], Callable[[int, Shaped], np.ndarray]]:
        """Matte, plate and the 2D landmark rig (the fallback); returns a frame's geometry and
        pixels, as `_prepare_3d`."""
        alpha = self._matte(image, context)
        rig, renderer = self._rigged(
            image, alpha, geo, views, lambda: Rig.build(geo, alpha), Renderer
        )
        context.log(
            f"portrait: face {geo.width:.0f} px wide at ({geo.center[0]:.0f}, "
            f"{geo.center[1]:.0f}); matte {100 * float(alpha.mean()):.0f}% of the frame; "
            f"mesh {len(rig.rest)} vertices, {len(rig.triangles)} triangles"
        )

        def positions(index: int) -> np.ndarray:
            return camera_points(views[index][0], rig.positions(plan.at(index)))

        body = _BodyMaps(lambda i: renderer.body_maps(positions(i)), plan.frames)

        def shape(index: int) -> Shaped:
            moved = positions(index)
            return renderer.lattices(moved, body.at(index)), moved

        def paint(index: int, shaped: Shaped) -> np.ndarray:
            lattices, moved = shaped
            assert len(lattices) == 2  # 2D: `lattices`'
            mouth = plan.at(index)["mouth"]
            return renderer.compose(lattices, moved, mouth, views[index][1])

        return shape, paint


class _BodyMaps:
    """The coarse (whole-subject) remap tables, made for even frames and blended for odd ones.

    Head and body move smoothly at 25 fps, so halfway tables are as good as made ones there; the
    face's own grid (blinks, lips) is still made for every frame. This halves the costliest step.
    The tables are the coarse lattice's (a fifth of full size), so the blend costs little.
    """

    def __init__(self, make: Callable[[int], tuple[np.ndarray, np.ndarray]], frames: int) -> None:
        self.make, self.frames = make, frames
        self.made: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _made(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if index not in self.made:
            self.made[index] = self.make(index)
            for old in [k for k in self.made if k < index - 2]:
                del self.made[old]
        return self.made[index]

    def at(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        last = self.frames - 1
        if index % 2 == 0 or index == last:
            return self._made(index)
        before, after = self._made(index - 1), self._made(index + 1)
        return (before[0] + after[0]) * 0.5, (before[1] + after[1]) * 0.5


def release_face_models() -> None:
    """Let go of the models that read the photo (the face mesh with its iris model, the person
    segmentation) before the frames are made, and give the freed memory back to the system.

    They are used once a video, before its frames; the render, with the encoder's buffers, is
    where a video's memory peaks, and they held 16-21 MB of it (`s2v generate` on the portrait
    bench's astronaut: 238 MB at the peak against 258). The next video loads them again, in
    25-35 ms. The face detector is kept: the runner holds it for every task."""
    get_mesher.cache_clear()
    get_segmenter.cache_clear()
    _trim_heap()


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None where the C library has none (musl, macOS)."""
    name = ctypes.util.find_library("c")
    return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None


def _trim_heap() -> None:
    """Return the C heap's free memory to the system (nothing where there is no malloc_trim)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _ahead(make: Callable[[int], T], count: int, depth: int = 2) -> Iterator[T]:
    """`make(0)`, `make(1)`, ... made by a worker thread up to `depth` frames ahead.

    OpenCV and NumPy release the GIL in their heavy calls, and so does the H.264 encoder, so the
    two overlap on a machine with spare cores. Closing the iterator (a kill) stops the worker.
    """
    slots: queue.Queue[T | BaseException] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work() -> None:
        try:
            for index in range(count):
                if stop.is_set():
                    return
                slots.put(make(index))
        except BaseException as exc:  # handed to the consumer, raised there
            slots.put(exc)

    worker = threading.Thread(target=work, name="portrait-geometry", daemon=True)
    worker.start()
    try:
        for _ in range(count):
            item = slots.get()
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():
            with contextlib.suppress(queue.Empty):
                slots.get(timeout=0.05)
        worker.join()


def _view(
    values: dict[str, float],
    size: tuple[int, int],
    target: tuple[float, float],
    parallax: float | None,
    pushed_zoom: float | None,
) -> View:
    """One frame's camera (a 2x3 affine of the view, None for none) and the affine that moves
    the plate behind the subject: the same one, or with `parallax` a share of the move, so that
    the background (inpainted behind the subject) lags it and the move shows depth."""
    zoom, pan, lift = values["zoom"], values["pan"], values["lift"]
    camera = camera_matrix(size, target, zoom, pan, lift)
    if camera is None or parallax is None:
        return camera, camera
    behind_zoom = 1 + (zoom - 1) * parallax
    if pushed_zoom is not None:
        # A push to the close-up: the background lags the subject as much as in a plain push
        # (PUSH_ZOOM), not by a share of the whole wide-to-close zoom.
        plain = 1 + (PUSH_ZOOM - 1) * np.log(zoom) / np.log(pushed_zoom)
        behind_zoom = zoom * (1 + (plain - 1) * parallax) / plain
    behind = camera_matrix(size, target, behind_zoom, pan * parallax, lift * parallax)
    return camera, behind


def _push_to_close_up(
    plan: MotionPlan,
    close_up: tuple[int, int, int, int] | None,
    size: tuple[int, int],
    scale: float,
) -> tuple[float, float] | None:
    """A push-in from the photo's wide view to the framed close-up (`close_up`, in the photo's
    pixels; `scale`: output pixels per photo pixel): the plan's push keeps its timing, its zoom
    is rescaled to end on the close-up (geometrically, so the push moves at an even pace).
    Returns the camera's target (the close-up's centre, in output pixels), or None when the plan
    has no push-in or no close-up was asked for."""
    zoom = plan.curves["zoom"]
    pushes = any(m.kind == "push_in" for m in plan.motions)
    if close_up is None or not pushes or zoom.max() <= 1 + 1e-4:
        return None
    x, y, w, h = close_up
    end = min(size[0] / (w * scale), size[1] / (h * scale))
    progress = np.clip((zoom - 1) / (zoom.max() - 1), 0.0, 1.0)
    zoom[:] = end**progress
    return ((x + w / 2) * scale, (y + h / 2) * scale)


def _lens_moves(plan: MotionPlan, scene: Scene) -> None:
    """The camera moves the lens words add to a plan: an orbit's slow arc (a pan there and
    back, zoomed in enough to keep the frame filled), a close-up held in."""
    zoom = plan.curves["zoom"]
    if "orbit" in scene.lens and not np.any(plan.curves["pan"]):
        t = np.linspace(0.0, 1.0, plan.frames)
        plan.curves["pan"][:] = 0.05 * np.sin(2 * np.pi * t)
        zoom[:] = np.maximum(zoom, 1.12)
    if "close-up" in scene.lens:
        zoom[:] = np.maximum(zoom, 1.15)


def _iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / max(union, 1)


def _at_size(
    request: GenerationRequest, size: tuple[int, int]
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The photo at output size and the subject's box in its pixels."""
    h, w = request.image.shape[:2]
    shrink = size[0] < w
    # Enlarging a lot (a framed close-up): Lanczos, sharp and without invented detail.
    large = size[0] > 1.5 * w
    how = cv2.INTER_AREA if shrink else cv2.INTER_LANCZOS4 if large else cv2.INTER_CUBIC
    image = cv2.resize(request.image, size, interpolation=how)
    sx, sy = size[0] / w, size[1] / h
    x0, y0, x1, y1 = request.face.box
    box = (round(x0 * sx), round(y0 * sy), round(x1 * sx), round(y1 * sy))
    return image, box


def _landmarks_2d(
    request: GenerationRequest, image: np.ndarray, size: tuple[int, int]
) -> np.ndarray:
    """The subject's 68 dlib landmarks at output size (the 2D fallback's face model)."""
    h, w = request.image.shape[:2]
    scale = np.array([size[0] / w, size[1] / h])
    if request.face.landmarks is not None:
        return np.asarray(request.face.landmarks, np.float64) * scale
    from subject2video.media.faces import get_analyzer

    x0, y0, x1, y1 = request.face.box
    box = (round(x0 * scale[0]), round(y0 * scale[1]), round(x1 * scale[0]), round(y1 * scale[1]))
    return np.asarray(get_analyzer().landmarks(image, box), np.float64)
