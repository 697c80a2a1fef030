"""The input stage: a task's URL inputs are fetched and stored before any worker sees the task.

A Run whose image or voice recording is a URL (`inputImageFirstUrl`, each dialect's audio URL) is
created queued with no `input_path`: the store's claim refuses it to every engine worker. Here,
in the API process, one job on the fetch stage (tasks/fetching.py: its own threads, the project's
limit of fetches at once, each within `S2V_FETCH_TIMEOUT_SECONDS`) fetches the image, then the
voice recording, stores them (the voice at `audio_key(uuid, FETCHED_AUDIO)`), and only then sets
`input_path` (an uploaded image waits at `input_key` meanwhile) and hands the task to the
dispatcher. The task shows `task_queue` in every dialect while it waits; Cancel and Kill stop its
fetch within 0.25 s. A fetch that fails fails the task (the fetch's own failure kind), having used
no worker. A server that stopped or died during a fetch fetches again at its start; in scale-out,
the fetch leases (fetch_leases.py) let a replica that stays up take over a dead replica's fetch,
and carry a Cancel from any replica to the fetch. Past `FETCH_TRIES` fetch starts the task fails,
saying so.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future

from subject2video.config import Settings
from subject2video.contract import IMAGE_PARAM, RunInput
from subject2video.errors import Cancelled, Failure, ServiceError
from subject2video.media.fetch import FetchPolicy, fetch
from subject2video.media.storage import Storage
from subject2video.tasks.fetch_leases import FetchLeases
from subject2video.tasks.fetching import FetchStage
from subject2video.tasks.lifecycle import Lifecycle
from subject2video.tasks.models import Task
from subject2video.tasks.status import Status
from subject2video.tasks.store import Store
from subject2video.tasks.workfiles import FETCHED_AUDIO, audio_key, input_key

logger = logging.getLogger(__name__)

#: How many times a task's fetch may be started (a process that stopped or died during it is
#: resumed); past it, the task fails with the reason.
FETCH_TRIES = 3
#: What each fetch start leaves in the task's debug output (counted against FETCH_TRIES).
STAGE = "(the API's fetch stage)"
FETCH_NOTE = f"fetching the image {STAGE}"


def needs_fetch(run: RunInput) -> bool:
    """Whether a task of `run` waits for the input stage (an image or a voice given by URL)."""
    return bool((run.upload is None and run.image_url) or run.audio_url)


class InputStage:
    """Fetches the URL inputs of queued tasks and sends each task on once all are stored."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        lifecycle: Lifecycle,
        inputs: Storage,
        fetches: FetchStage,
        submit: Callable[[int], None],
    ) -> None:
        self.settings = settings
        self.store = store
        self.lifecycle = lifecycle
        self.inputs = inputs
        self.fetches = fetches
        #: Hands a task whose inputs are all stored to the dispatcher.
        self.submit = submit
        self.policy = FetchPolicy.from_settings(settings)
        #: Scale-out: leases on this replica's fetches in Redis; None in the embedded deployment.
        self.leases = FetchLeases(settings.events_url, self) if settings.events_url else None
        #: Tasks whose inputs this process fetches now, with the flag a Cancel or Kill sets.
        self._fetching: dict[int, threading.Event] = {}
        self._lock = threading.Lock()
        self._closing = False

    def start(self) -> int:
        """Resume the fetches a stopped or dead process left (see `resume_fetch`); in scale-out,
        also start taking over those of replicas that die later. Returns how many started."""
        started = sum(self.resume_fetch(task) for task in self.store.unfetched())
        if self.leases is not None:
            self.leases.start()
        return started

    def stop(self) -> None:
        """The server stops: its fetches stop too (the tasks stay queued), and in scale-out their
        leases lapse so that another replica fetches them (the next start does here)."""
        self._closing = True
        for task_id in self.fetching_ids():
            self.abort_fetch(task_id)
        if self.leases is not None:
            self.leases.stop()

    def fetching_ids(self) -> list[int]:
        with self._lock:
            return list(self._fetching)

    def abort_fetch(self, task_id: int) -> None:
        """Stop the task's fetch here, if this process runs it (a Cancel or Kill)."""
        with self._lock:
            aborted = self._fetching.get(task_id)
        if aborted is not None:
            aborted.set()

    def resume_fetch(self, task: Task, *, claimed: bool = False) -> bool:
        """Fetch again the inputs of a queued task that has none stored (its lease taken here
        unless `claimed`); a task that already had `FETCH_TRIES` fetches started fails, saying
        so. Whether a fetch was started."""
        if not claimed and self.leases is not None and not self.leases.claim(task.id):
            return False  # another replica fetches it
        started = self._resume(task)
        if not started and self.leases is not None:
            self.leases.release(task.id)
        return started

    def _resume(self, task: Task) -> bool:
        current = self.store.get(task.id)  # another process may have stored it meanwhile
        if current is None or current.status != Status.queue.value or current.input_path:
            return False
        tries = (current.debugoutput or "").count(STAGE)
        if tries >= FETCH_TRIES:
            self.lifecycle.fail(
                task.id,
                f"the server stopped {tries} times while fetching this task's inputs "
                f"({_names(RunInput.from_parameters(current.parameters or {}))}); check that "
                f"each URL answers within {self.settings.fetch_timeout_seconds:g} s and run "
                "the task again",
                Failure.image,
                allowed_from=[Status.queue],
            )
            return False
        logger.info("resuming a fetch", extra={"task_id": task.id, "try": tries + 1})
        return self.fetch(current, claimed=True)

    def fetch(self, task: Task, *, claimed: bool = False) -> bool:
        """Fetch the task's URL inputs on the fetch stage, store them, then send the task on;
        the task shows task_queue meanwhile. False where no fetch runs here for it (another
        replica fetches it, or the task was failed for having no image)."""
        run = RunInput.from_parameters(task.parameters or {})
        if run.upload is None and not run.image_url:
            self.lifecycle.fail(
                task.id,
                f"Request parameter [{IMAGE_PARAM}] required",
                Failure.image,
                allowed_from=[Status.queue],
            )
            return False
        aborted = threading.Event()
        with self._lock:
            if task.id in self._fetching:
                return True  # already fetched here (its lease is this replica's)
            if not claimed and self.leases is not None and not self.leases.claim(task.id):
                return False
            self._fetching[task.id] = aborted

        def check() -> None:
            if aborted.is_set():
                raise Cancelled(task_id=task.id)

        def job() -> str:
            check()  # cancelled while it waited for one of the project's fetch slots
            # A try counts when it starts (one still waiting at a stop was not tried).
            self.store.append_debug(task.id, f"fetching {_what(run)} {STAGE}")
            return self._fetch_and_store(task, run, check)

        future = self.fetches.submit(task.project_id, job)
        future.add_done_callback(lambda done: self._fetched(task, done))
        return True

    def _fetch_and_store(self, task: Task, run: RunInput, check: Callable[[], None]) -> str:
        """Fetch what is a URL and store it; returns the image's key (stored or uploaded)."""
        image = None
        if run.upload is None and run.image_url:
            image = fetch(run.image_url, self.policy, parameter=IMAGE_PARAM, check=check)
        if run.audio_url:
            voice = fetch(run.audio_url, self.policy, parameter=run.audio_name, check=check)
            check()
            self.inputs.write(audio_key(task.uuid, FETCHED_AUDIO), voice)
        if image is None:
            return input_key(task.uuid, run.upload or "")
        check()
        key = input_key(task.uuid, "image")
        self.inputs.write(key, image)
        return key

    def _fetched(self, task: Task, future: Future[str]) -> None:
        """A fetch ended (on a fetch thread): send the task on, or fail it."""
        extra = {"task_id": task.id}
        try:
            self._settle(task, future, extra)
        except Exception:  # storage failed: the task stays queued; a later start fetches again
            logger.exception("storing fetched inputs failed", extra=extra)
        finally:
            with self._lock:
                self._fetching.pop(task.id, None)
            if self.leases is not None:
                self.leases.release(task.id)

    def _settle(self, task: Task, future: Future[str], extra: dict[str, int]) -> None:
        if future.cancelled():  # the server stopped first: the next start fetches it again
            return
        exc = future.exception()
        if isinstance(exc, Cancelled):
            why = "the server is stopping" if self._closing else "the task was cancelled"
            logger.info("fetch stopped: %s", why, extra=extra)
        elif isinstance(exc, ServiceError):
            logger.info("fetch failed: %s", exc.message, extra=extra)
            self.lifecycle.fail(task.id, exc.message, exc.failure, allowed_from=[Status.queue])
        elif exc is not None:
            logger.error("fetch crashed", exc_info=exc, extra=extra)
            self.lifecycle.fail(
                task.id,
                f"internal error fetching the task's inputs: {type(exc).__name__}",
                Failure.image,
                allowed_from=[Status.queue],
            )
        elif self.store.status_of(task.id) == Status.queue:
            self.store.update_fields(task.id, input_path=f"inputs/{future.result()}")
            logger.info("inputs fetched and stored", extra=extra)
            self.submit(task.id)


def _what(run: RunInput) -> str:
    image = run.upload is None and bool(run.image_url)
    if image and run.audio_url:
        return "the image and the voice recording"
    return "the image" if image else "the voice recording"


def _names(run: RunInput) -> str:
    names = [IMAGE_PARAM] if run.upload is None and run.image_url else []
    return ", ".join([*names, *([run.audio_name] if run.audio_url else [])])
