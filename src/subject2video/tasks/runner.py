"""The runner: one task from claim to final status. The same for every dispatcher.

claim → preprocess (read the stored image and voice, which the API fetched first where they were
URLs, see inputs.py; find the face) → generate (the engine, with progress and kill checks,
frames encoded as they come) → postprocess (finish and store the MP4). Every status change is a
compare-and-set in the store and an event; a kill shows up as a failed compare-and-set or a set
kill flag, and ends the work at the next check.
"""

from __future__ import annotations

import contextlib
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
from subject2video.contract import IMAGE_PARAM, MADE_FRAMES_PARAM, RunInput
from subject2video.engines.base import Engine, GenerationRequest
from subject2video.errors import (
    Cancelled,
    Failure,
    InputError,
    ServiceError,
    StorageError,
    TimedOut,
)
from subject2video.media.audio import load_audio
from subject2video.media.detector import FaceDetector, get_detector
from subject2video.media.images import load_image
from subject2video.media.storage import disk_errors, open_storage
from subject2video.tasks.events import Event, EventSink
from subject2video.tasks.health import StorageHealth
from subject2video.tasks.keyring import Keyring
from subject2video.tasks.lifecycle import Lifecycle
from subject2video.tasks.models import Output, Task
from subject2video.tasks.pipeline import prepare, render
from subject2video.tasks.status import Status
from subject2video.tasks.store import Store, token, token_digest
from subject2video.tasks.workfiles import FETCHED_AUDIO, audio_key, remove_work_files, work_dir

logger = logging.getLogger(__name__)

#: How often the runner re-reads the store for a kill made elsewhere (another API replica).
STORE_POLL_SECONDS = 0.5
#: A task put back this many times for storage faults fails the next time (a storage failure).
STORAGE_RETRIES = 3
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
            raise TimedOut(f"the engine did not finish within {limit:.0f} s", task_id=self.task.id)

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
        detector: FaceDetector | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.engine = engine
        self.publish = publish
        self.lifecycle = Lifecycle(settings, store, publish)
        self.kill_flag = kill_flag
        self.worker = worker or f"local-{os.getpid()}"
        self.detector = detector or get_detector()
        self.storage = open_storage(settings, "outputs")
        self.inputs = open_storage(settings, "inputs")
        self.health = StorageHealth(settings, store)
        #: Seals each output's access key at rest (the store checks downloads by its digest).
        self.keyring = Keyring.from_settings(settings)
        #: Tasks (id, claim) this runner could not end or put back because storage failed.
        self._stranded: list[tuple[int, str | None]] = []
        #: How often each task was put back for a storage fault by this runner.
        self._storage_tries: dict[int, int] = {}

    # -- the sentence -----------------------------------------------------------------------

    def run(self, task_id: int) -> Status | None:
        """Run one task to a final status; None if it was not ours to run (claimed or ended).

        Raises StorageError, before claiming, while storage is unfit for work: the caller waits
        and calls again (the task stays queued)."""
        self._settle_stranded()
        self.health.require()
        task = self.store.claim(task_id, self.worker)
        if task is None:
            logger.info("task not claimable; skipped", extra={"task_id": task_id})
            return None
        try:
            return self._run_claimed(task)
        finally:
            remove_work_files(self.settings, task.id)

    def _run_claimed(self, task: Task) -> Status | None:
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
            # A kill seen through the flag: the store may not say so yet (the API's own ending
            # wins the compare-and-set otherwise, and this one changes nothing).
            self._end(task, self.lifecycle.cancel, task.id, holder=task.claim)
            return Status.cancel
        except StorageError as exc:
            self._storage_failed(task, exc)
        except ServiceError as exc:
            logger.info("task failed: %s", exc.message, extra=log_extra)
            fail = self.lifecycle.fail
            self._end(task, fail, task.id, exc.message, exc.failure, holder=task.claim)
        except Exception as exc:
            logger.exception("task crashed", extra=log_extra)
            reason = f"internal error in the {self.engine.name} engine: {type(exc).__name__}"
            fail = self.lifecycle.fail
            self._end(task, fail, task.id, reason, Failure.engine, holder=task.claim)
        return self.store.status_of(task.id)

    # -- storage faults -----------------------------------------------------------------------

    def _storage_failed(self, task: Task, exc: StorageError) -> None:
        """The machine failed under a running task: the task goes back to the queue (no attempt
        spent) and waits until storage is fit again; the same task failing on storage
        `STORAGE_RETRIES` times here (its input file lost, say) fails, as a storage failure."""
        extra = {"task_id": task.id}
        tries = self._storage_tries.get(task.id, 0) + 1
        self._storage_tries[task.id] = tries
        if tries > STORAGE_RETRIES:
            logger.warning("task failed on storage: %s", exc.message, extra=extra)
            self._storage_tries.pop(task.id, None)
            fail = self.lifecycle.fail
            self._end(task, fail, task.id, exc.message, exc.failure, holder=task.claim)
            return
        logger.warning("storage failed under a task; it waits: %s", exc.message, extra=extra)
        self._end(task, self._release, task.id, task.claim)
        raise StorageError(exc.message, task_id=task.id) from exc

    def _release(self, task_id: int, claim: str | None) -> bool:
        return self.lifecycle.release(task_id, holder=claim, why="storage failed")

    def _end(self, task: Task, ending: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        """Apply an ending; if storage fails under it, keep the task to put back later (a task
        left running under a live worker would never be recovered)."""
        try:
            ending(*args, **kwargs)
        except StorageError:
            self._stranded.append((task.id, task.claim))
            raise

    def _settle_stranded(self) -> None:
        """Put back the tasks an earlier storage fault left running; StorageError while it still
        cannot."""
        while self._stranded:
            task_id, claim = self._stranded[0]
            self._release(task_id, claim)
            self._stranded.pop(0)

    # -- stages -----------------------------------------------------------------------------

    def preprocess(self, task: Task, context: TaskContext) -> GenerationRequest:
        """Fetch and check the image, find the subject's face, fix the output form."""
        self._advance(task, Status.preprocess_start)
        data = self._input_bytes(task, context)
        context.check_cancelled()
        image = load_image(data, parameter=IMAGE_PARAM)
        run = RunInput.from_parameters(task.parameters)
        # The face's box only (pipeline.prepare): the service path never loads dlib's
        # non-commercial 68-point model.
        voice_track = None
        audio_name = run.audio_name  # as the caller's dialect spells it
        if run.audio_upload:
            # An uploaded voice recording, kept beside the image (checked at the door too).
            stored = self.inputs.read(audio_key(task.uuid, run.audio_upload))
            voice_track = load_audio(stored, parameter=audio_name)
        elif run.audio_url:
            # A voice recording for the lips, fetched and stored by the API's input stage
            # before the task was sent (tasks/inputs.py): a worker never fetches it.
            key = audio_key(task.uuid, FETCHED_AUDIO)
            if not self.inputs.exists(key):  # a task queued by a version that fetched it here
                raise InputError(
                    f"{audio_name}: the voice recording is not stored; run the task again",
                    parameter=audio_name,
                )
            voice_track = load_audio(self.inputs.read(key), parameter=audio_name)
        prepared = prepare(
            image, run, self.detector, seed=run.seed_value(task.uuid), engine=self.engine.name,
            voice_track=voice_track, audio_parameter=audio_name, framing=self.settings.framing,
            follow_speech=run.follow_speech,
        )  # fmt: skip
        if run.follow_speech and prepared.request.frames != run.frames:
            # The caller gave no length and the person speaks: the wire reports what is made.
            made = {**task.parameters, MADE_FRAMES_PARAM: prepared.request.frames}
            self.store.update_fields(task.id, parameters=made)
            task.parameters = made
        if prepared.framing:
            context.log(prepared.framing)
        if prepared.speech:
            context.log(prepared.speech)
        context.log(prepared.note)
        self._advance(task, Status.preprocess_end)
        return prepared.request

    def generate(self, task: Task, request: GenerationRequest, context: TaskContext) -> Path:
        """Run the engine, encoding its frames as they come; returns the finished MP4 file."""
        self._advance(task, Status.assign)
        self._advance(task, Status.start)
        workdir = work_dir(self.settings)
        with disk_errors("write a work file"):
            workdir.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(suffix=".mp4", prefix=f"task{task.id}-", dir=workdir)
            os.close(fd)
        path = Path(name)
        try:
            with disk_errors("write the video", partial=path):
                render(self.engine, request, context, path, each_frame=context.check_cancelled)
        except BaseException:
            # Best effort: on a read-only or vanished disk the file stays, for the next start.
            with contextlib.suppress(OSError):
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
        accesskey = token(30)
        output = Output(
            id=output_id,
            task_id=task.id,
            name="0.mp4",
            contenttype="video/mp4",
            size=size,
            key=key,
            accesskey=self.keyring.seal(accesskey) or accesskey,
            accesskey_digest=token_digest(accesskey),
            addedtime=now,
            expiretime=now + ttl if ttl else None,
            width=frame_size[0] if frame_size else None,
            height=frame_size[1] if frame_size else None,
        )
        try:
            self.store.add_output(output)
            finished = self.lifecycle.done(
                task.id, allowed_from=[Status(task.status)], holder=task.claim
            )
        except StorageError:
            # The store failed (its file deleted, say): no file without its row stays behind.
            with contextlib.suppress(StorageError):
                self.store.delete_output(output_id)
            self.storage.delete(key)
            raise
        if not finished:
            # Killed (or lost to a newer claim) at the last moment: this run's file goes.
            self.store.delete_output(output_id)
            self.storage.delete(key)
            raise Cancelled(task_id=task.id)

    # -- helpers ----------------------------------------------------------------------------

    def announce_progress(self, task: Task, message: dict[str, Any]) -> None:
        self.store.update_fields(task.id, progress=message)
        self.publish(Event(Status.output.value, task.id, task.token_digest, message))

    def _input_bytes(self, task: Task, context: TaskContext) -> bytes:
        """The stored input image. URL inputs were fetched by the API's input stage before the
        task was sent (tasks/inputs.py): a worker never fetches, and cannot claim a task whose
        inputs are not stored (Store.claim)."""
        if not task.input_path:
            raise InputError(
                f"the task's image ({IMAGE_PARAM}) is not stored; run the task again",
                parameter=IMAGE_PARAM,
            )
        return self.inputs.read(task.input_path.removeprefix("inputs/"))

    def _advance(self, task: Task, to: Status, **fields: Any) -> None:
        """Move to the next (unfinished) status; a failed compare-and-set means it was killed."""
        current = Status(task.status)
        ok = self.store.transition(task.id, to, allowed_from=[current], holder=task.claim, **fields)
        if not ok:
            raise Cancelled(task_id=task.id)
        task.status = to.value
        self._emit(task, to)

    def _emit(self, task: Task, status: Status) -> None:
        self.publish(Event(status.value, task.id, task.token_digest))
