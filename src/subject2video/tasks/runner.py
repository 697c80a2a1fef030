"""The runner: one task from claim to final status. The same for every dispatcher.

claim → preprocess (fetch and check the image, find the face) → generate (the engine, with progress
and kill checks, frames encoded as they come) → postprocess (finish and store the MP4). Every status
change is a compare-and-set in the store and an event; a kill shows up as a failed compare-and-set
or a set kill flag, and ends the work at the next check.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from subject2video.config import Settings
from subject2video.engines.base import Engine, GenerationRequest
from subject2video.errors import Cancelled, EngineError, InputError, ServiceError
from subject2video.media.faces import FaceAnalyzer
from subject2video.media.fetch import FetchPolicy, fetch
from subject2video.media.images import load_image
from subject2video.media.storage import open_storage
from subject2video.media.video import Mp4Writer, output_size
from subject2video.tasks.events import Event, EventSink
from subject2video.tasks.models import Output, Task
from subject2video.tasks.status import ORDER, Status
from subject2video.tasks.store import Store, token
from subject2video.tasks.wire import output_dict

logger = logging.getLogger(__name__)

DEFAULT_PROMPT = (
    "A cinematic, sun-drenched photograph of a stylish woman walking on a sidewalk in Los "
    "Angeles. The scene is framed by a row of iconic palm trees lining the street, their "
    "fronds swaying gently against a clear blue sky. The woman is dressed in fashionable, "
    "casual clothing suitable for the warm weather, and she has a relaxed and confident "
    "stride. The light is golden, suggesting either early morning or late afternoon, creating "
    "long, dramatic shadows. In the background, there are hints of classic L.A. architecture "
    "and the cityscape. The image should be captured with a wide-angle lens to emphasize the "
    "scale of the palm trees and the expansive urban environment, with a shallow depth of "
    "field to focus on the woman."
)
IMAGE_PARAM = "inputImageFirstUrl"
FPS = 25
FRAMES = 150
#: How often the runner re-reads the store for a kill made elsewhere (another API replica).
STORE_POLL_SECONDS = 0.5
#: A progress step that took at least this long is announced even under 5% of the work.
PROGRESS_EVERY_SECONDS = 0.5


@dataclass
class TaskContext:
    """The GenerationContext a running task gives its engine."""

    runner: Runner
    task: Task
    deadline: float
    kill_flag: Callable[[int], bool]
    _last_poll: float = 0.0
    _last_pct: int = -100
    _last_emit: float = 0.0
    started: float = field(default_factory=time.monotonic)

    def check_cancelled(self) -> None:
        if self.kill_flag(self.task.id):
            raise Cancelled(task_id=self.task.id)
        now = time.monotonic()
        if now - self._last_poll >= STORE_POLL_SECONDS:
            self._last_poll = now
            if self.runner.store.status_of(self.task.id) == Status.cancel:
                raise Cancelled(task_id=self.task.id)
        if time.time() > self.deadline:
            limit = self.runner.settings.task_timeout_seconds
            raise EngineError(
                f"the engine did not finish within {limit:.0f} s", task_id=self.task.id
            )

    def progress(self, done: int, total: int, *, task: str = "Generate") -> None:
        pct = int(100 * done / max(total, 1))
        now = time.monotonic()
        # Fast steps (frames) are announced every 5%; slow ones (diffusion steps) every step.
        slow = now - self._last_emit >= PROGRESS_EVERY_SECONDS
        if pct - self._last_pct < 5 and done < total and not slow:
            return
        self._last_pct = pct
        self._last_emit = now
        elapsed = max(now - self.started, 1e-6)
        speed = done / elapsed
        remaining = (total - done) / speed if speed > 0 else 0.0
        message = {
            "type": f"progress{task}",
            "task": task,
            "percentage": str(pct),
            "stepCurrent": str(done),
            "stepTotal": str(total),
            "speed": f"{speed:.1f}",
            "speedType": "it/s",
            "elapsedTime": f"{elapsed:.0f}s",
            "remainingTime": f"{remaining:.0f}s",
        }
        self.runner.announce_progress(self.task, message)

    def log(self, line: str) -> None:
        self.runner.store.append_debug(self.task.id, line)


class Runner:
    """Runs tasks in a worker process with a loaded engine."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        engine: Engine,
        *,
        publish: EventSink,
        kill_flag: Callable[[int], bool] = lambda _task_id: False,
        worker: str | None = None,
        analyzer: FaceAnalyzer | None = None,
        on_final: Callable[[int], Any] = lambda _task_id: None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.engine = engine
        self.publish = publish
        self.kill_flag = kill_flag
        self.on_final = on_final
        self.worker = worker or f"local-{os.getpid()}"
        self.analyzer = analyzer or FaceAnalyzer()
        self.storage = open_storage(settings, "outputs")
        self.inputs = open_storage(settings, "inputs")
        self.policy = FetchPolicy.from_settings(settings)

    # -- the sentence -----------------------------------------------------------------------

    def run(self, task_id: int) -> Status | None:
        """Run one task to a final status; None if it was not ours to run (claimed or ended)."""
        task = self.store.claim(task_id, self.worker)
        if task is None:
            logger.info("task not claimable; skipped", extra={"task_id": task_id})
            return None
        self._emit(task, Status.accept)
        log_extra = {"task_id": task.id, "attempt": task.attempts}
        logger.info("task claimed", extra=log_extra)
        context = TaskContext(
            self,
            task,
            deadline=time.time() + self.settings.task_timeout_seconds,
            kill_flag=self.kill_flag,
        )
        try:
            request = self.preprocess(task, context)
            video = self.generate(task, request, context)
            self.postprocess(task, video, frame_size=(request.width, request.height))
        except Cancelled:
            logger.info("task killed", extra=log_extra)
            self._ensure_cancelled(task)
            return Status.cancel
        except ServiceError as exc:
            logger.info("task failed: %s", exc.message, extra=log_extra)
            self._fail(task, exc.message)
        except Exception as exc:
            logger.exception("task crashed", extra=log_extra)
            self._fail(
                task, f"internal error in the {self.engine.name} engine: {type(exc).__name__}"
            )
        return self.store.status_of(task.id)

    # -- stages -----------------------------------------------------------------------------

    def preprocess(self, task: Task, context: TaskContext) -> GenerationRequest:
        """Fetch and check the image, find the subject's face, fix the output form."""
        self._advance(task, Status.preprocess_start)
        data = self._input_bytes(task)
        context.check_cancelled()
        image = load_image(data, parameter=IMAGE_PARAM)
        face = self.analyzer.subject(image.array, parameter=IMAGE_PARAM)
        width, height = output_size(image.width, image.height)
        params = task.parameters
        prompt = str(params.get("prompt") or DEFAULT_PROMPT)
        seed = _seed(params.get("seed"), task.uuid)
        context.log(
            f"input {image.format} {image.width}x{image.height}; face at {list(face.box)}; "
            f"output {width}x{height} {FRAMES} frames at {FPS} fps; seed {seed}; "
            f"engine {self.engine.name}"
        )
        self._advance(task, Status.preprocess_end)
        return GenerationRequest(
            image=image.array,
            face=face,
            prompt=prompt,
            seed=seed,
            width=width,
            height=height,
            fps=FPS,
            frames=FRAMES,
            extra={k: v for k, v in params.items() if k not in ("prompt", "seed")},
        )

    def generate(self, task: Task, request: GenerationRequest, context: TaskContext) -> Path:
        """Run the engine, encoding its frames as they come; returns the finished MP4 file."""
        self._advance(task, Status.assign)
        self._advance(task, Status.start)
        workdir = self.settings.data_dir / "work"
        workdir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(suffix=".mp4", prefix=f"task{task.id}-", dir=workdir)
        os.close(fd)
        path = Path(name)
        count = 0
        try:
            with Mp4Writer(path, request.width, request.height, request.fps) as writer:
                for frame in self.engine.frames(request, context):
                    context.check_cancelled()
                    writer.write(frame)
                    count += 1
            if count != request.frames:
                raise EngineError(
                    f"the {self.engine.name} engine made {count} frames, not {request.frames}"
                )
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        self._advance(task, Status.output_full)
        self._advance(task, Status.end)
        return path

    def postprocess(
        self, task: Task, video: Path, frame_size: tuple[int, int] | None = None
    ) -> None:
        """Store the MP4 (`frame_size` is its width and height, where known); finish the task."""
        self._advance(task, Status.postprocess_start)
        output_id = secrets.token_hex(16)
        key = f"{task.uuid}/{output_id}/0.mp4"
        size = self.storage.put(key, video)
        now = time.time()
        ttl = self.settings.output_ttl_seconds
        output = Output(
            id=output_id,
            task_id=task.id,
            name="0.mp4",
            contenttype="video/mp4",
            size=size,
            key=key,
            accesskey=token(30),
            addedtime=now,
            expiretime=now + ttl if ttl else None,
            width=frame_size[0] if frame_size else None,
            height=frame_size[1] if frame_size else None,
        )
        self.store.add_output(output)
        if not self._advance(task, Status.postprocess_end, pexit="0", raise_on_kill=False):
            # Killed (or lost to a newer claim) at the last moment: this run's file goes.
            self.store.delete_output(output_id)
            self.storage.delete(key)
            raise Cancelled(task_id=task.id)

    # -- helpers ----------------------------------------------------------------------------

    def announce_progress(self, task: Task, message: dict[str, Any]) -> None:
        self.store.update_fields(task.id, progress=message)
        self.publish(Event(Status.output.value, task.id, task.socketaccesstoken, message))

    def _input_bytes(self, task: Task) -> bytes:
        if task.input_path:
            return self.inputs.read(task.input_path.removeprefix("inputs/"))
        url = task.parameters.get(IMAGE_PARAM) or task.parameters.get("inputImageFirst") or ""
        if not url:
            raise InputError(f"Request parameter [{IMAGE_PARAM}] required", parameter=IMAGE_PARAM)
        return fetch(str(url), self.policy, parameter=IMAGE_PARAM)

    def _advance(
        self, task: Task, to: Status, *, raise_on_kill: bool = True, **fields: Any
    ) -> bool:
        """Move to the next status; a failed compare-and-set means the task was killed."""
        current = Status(task.status)
        ok = self.store.transition(task.id, to, allowed_from=[current], holder=task.claim, **fields)
        if not ok:
            if raise_on_kill:
                raise Cancelled(task_id=task.id)
            return False
        task.status = to.value
        self._emit(task, to)
        return True

    def _emit(self, task: Task, status: Status, message: Any = None) -> None:
        if status == Status.postprocess_end and message is None:
            outputs = self.store.outputs([task.id])[task.id]
            message = [output_dict(o, task, self.settings.base_url) for o in outputs]
        self.publish(Event(status.value, task.id, task.socketaccesstoken, message))
        if status.is_final:
            self.on_final(task.id)

    def _fail(self, task: Task, reason: str) -> None:
        reason = " ".join(reason.split())
        allowed = [s for s in ORDER if not s.is_final]
        if self.store.fail(task.id, reason, allowed_from=allowed, holder=task.claim):
            task.status = Status.postprocess_end.value
            self.publish(Event("task_error", task.id, task.socketaccesstoken, reason))
            self._emit(task, Status.postprocess_end, [])

    def _ensure_cancelled(self, task: Task) -> None:
        """A kill seen through the flag: make sure the store says so, then announce it."""
        allowed = [s for s in ORDER if not s.is_final]
        if self.store.transition(task.id, Status.cancel, allowed_from=allowed, holder=task.claim):
            self._emit(task, Status.cancel)


def _seed(value: Any, task_uuid: str) -> int:
    """The caller's seed, or one derived from the task so that a rerun of the task repeats it."""
    if value not in (None, ""):
        try:
            return int(str(value)) % 2**32
        except ValueError:
            raise InputError(
                f"Request parameter [seed] must be an integer, got {value!r}", parameter="seed"
            ) from None
    return int(hashlib.sha256(task_uuid.encode()).hexdigest()[:8], 16)
