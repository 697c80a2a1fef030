"""The task service: what the API's routes call. Routes parse; this decides and records."""

from __future__ import annotations

import contextlib
import functools
import hmac
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.engine import Row

from subject2video.config import Settings
from subject2video.contract import (
    MODEL_OWNER,
    MODEL_PROJECT,
    RunInput,
    parse_run,
    parse_task_id,
    token_ok,
)
from subject2video.errors import (
    Conflict,
    Draining,
    InputError,
    LimitReached,
    NotFound,
    StorageError,
)
from subject2video.media.fetch import FetchPolicy, check_url
from subject2video.media.storage import Storage, open_storage
from subject2video.tasks.dispatch import Dispatcher
from subject2video.tasks.events import Event, EventSink
from subject2video.tasks.fetching import FetchStage
from subject2video.tasks.health import StorageHealth
from subject2video.tasks.inputs import InputStage, needs_fetch
from subject2video.tasks.keyring import Keyring
from subject2video.tasks.lifecycle import Lifecycle
from subject2video.tasks.models import Output, Project, Task
from subject2video.tasks.status import CANCELLABLE, RUNNING, UNFINISHED, Status
from subject2video.tasks.store import ActiveLimitReached, Store, token, token_digest
from subject2video.tasks.store import webhook_secret as new_webhook_secret
from subject2video.tasks.workfiles import FETCHED_AUDIO, audio_key, input_key

logger = logging.getLogger(__name__)

#: Retry-After of a Run refused while the server drains.
DRAIN_RETRY_SECONDS = 10

NO_TASK = "There is no task yet."
_SECRET_LOCK = threading.Lock()


@dataclass(frozen=True)
class Upload:
    """An uploaded input image."""

    filename: str
    data: bytes


class InputGone(NotFound):
    """The task's input was deleted (InputOutputDelete, a delete): it cannot be run again."""


def is_live(output: Any, now: float | None = None) -> bool:
    """Whether an output may still be served: it has not expired (S2V_OUTPUT_TTL_SECONDS)."""
    return output.expiretime is None or output.expiretime >= (time.time() if now is None else now)


@dataclass(frozen=True)
class Page:
    """One cursor page of a project's tasks, with their outputs."""

    tasks: list[Task]
    outputs: dict[int, list[Output]]
    #: Whether tasks follow this page.
    has_more: bool


@dataclass(frozen=True)
class TaskRef:
    """How a caller names a task: by id, or by its socket access token."""

    task_id: int | None = None
    tasktoken: str | None = None

    @classmethod
    def parse(cls, fields: dict[str, Any]) -> TaskRef:
        raw_id = str(fields.get("taskid") or "").strip()
        tok = str(fields.get("tasktoken") or fields.get("socketaccesstoken") or "").strip()
        if raw_id:
            return cls(task_id=parse_task_id(raw_id))
        if tok:
            if not token_ok(tok):  # a token that no task can have (a surrogate, 5 MB...)
                raise NotFound(NO_TASK)
            return cls(tasktoken=tok)
        raise InputError("Request parameter [taskid] or [tasktoken] required", parameter="taskid")


def model_slug_ok(owner: str, project: str) -> bool:
    """Whether a route's owner/project names the model this server serves (any case)."""
    return owner.lower() == MODEL_OWNER.lower() and project.lower() == MODEL_PROJECT.lower()


class TaskService:
    """Creates, finds, cancels, kills, lists and cleans tasks for a project."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        dispatcher: Dispatcher,
        publish: EventSink,
        outputs: Storage | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.dispatcher = dispatcher
        self.publish = publish
        self.lifecycle = Lifecycle(settings, store, publish)
        self.policy = FetchPolicy.from_settings(settings)
        self.inputs = open_storage(settings, "inputs")
        self.outputs = outputs if outputs is not None else open_storage(settings, "outputs")
        self.health = StorageHealth(settings, store)
        #: URL inputs fetched off the shared thread pool, per-project limited (fetching.py).
        self.fetches = FetchStage(settings)
        #: Fetches a task's URL inputs and stores them before the task is sent (inputs.py).
        self.input_stage = InputStage(
            settings, store, self.lifecycle, self.inputs, self.fetches, dispatcher.submit
        )
        #: Opens and seals the webhook secrets made on first need (`webhook_secret`).
        self.keyring = Keyring.from_settings(settings)
        #: Pollers read the same tasks again and again: open each sealed token and access key
        #: once.
        self._open = functools.lru_cache(maxsize=4096)(self.keyring.open)
        self.health.on_replaced = self.reconcile
        #: Set at the first stop signal (api/serving.py): reads go on, Run is refused (503).
        self.draining = False

    def reconcile(self) -> None:
        """The database file was replaced under the server (a restore): what it says is running
        but no engine process of ours holds goes back to the queue without spending an attempt
        (the fault was ours, not the task's), every queued task is sent again (the dispatcher's
        queue knew the old file's), and output files the restored store has no row for, of
        tasks it knows, are removed. A task an engine process still runs is settled by that
        process (tasks/runner.py)."""
        running = getattr(self.dispatcher, "running", None)
        if running is not None:  # the embedded deployment (scale-out: the reaper's heartbeats)
            held = running()
            for task in self.store.unfinished():
                if Status(task.status) in RUNNING and task.id not in held:
                    self.lifecycle.release(task.id, why="the database file was replaced")
        for task_id in self.store.queued_ids():  # those whose input is stored
            self.dispatcher.submit(task_id)
        removed = self._remove_unlisted_outputs()
        logger.warning(
            "database file replaced: tasks reconciled", extra={"outputs_removed": removed}
        )

    def _remove_unlisted_outputs(self) -> int:
        """Remove output files of known tasks that have no output row (a run whose row went to
        the replaced file); files of tasks the store does not know are left alone."""
        outputs = open_storage(self.settings, "outputs")
        root = getattr(outputs, "root", None)
        if root is None or not root.is_dir():
            return 0
        removed = 0
        for task_dir in root.iterdir():
            task = self.store.by_uuid(task_dir.name) if task_dir.is_dir() else None
            if task is None:
                continue
            listed = {o.id for o in self.store.outputs([task.id])[task.id]}
            for output_dir in task_dir.iterdir():
                if output_dir.name not in listed:
                    for path in sorted(output_dir.rglob("*"), reverse=True):
                        path.unlink() if path.is_file() else path.rmdir()
                    output_dir.rmdir()
                    removed += 1
        return removed

    def run(
        self,
        project: Project,
        run: RunInput,
        upload: Upload | None,
        *,
        callback_dialect: str | None = None,
        callback_url: str | None = None,
        callback_events: Sequence[str] | None = None,
        audio: Upload | None = None,
    ) -> Task:
        """Create and dispatch a task for a checked input (contract.parse_run made it).

        `audio` is an uploaded voice recording (checked at the door with media/audio.py); it is
        stored beside the image, at `audio_key`, and the run names it.

        `callback_dialect` names the dialect whose callback rule the task follows (None: the
        default rule); `callback_url`, where given, is where callbacks go instead of the input's
        callback URL (a project's webhook).
        """
        # A machine that cannot keep the task says so before anything is written (503).
        if self.draining:
            raise Draining(
                "The server is stopping: running tasks finish, new ones are not taken; "
                "retry in a moment (or on another replica)",
                retry_after=DRAIN_RETRY_SECONDS,
            )
        self.health.require()
        # The input is on disk before the task row exists, so a crash between the two leaves an
        # orphan file at worst, never a task without its input.
        task_uuid = str(uuid.uuid4())
        input_path = stored = None
        if upload is not None:
            key = input_key(task_uuid, _safe_name(upload.filename))
            self.inputs.write(key, upload.data)
            stored = f"inputs/{key}"
            run = run.with_upload(_safe_name(upload.filename))
        audio_path = None
        if audio is not None:
            name = _safe_name(audio.filename)
            try:
                self.inputs.write(audio_key(task_uuid, name), audio.data)
            except StorageError:
                self._forget_input(stored)
                raise
            audio_path = f"inputs/{audio_key(task_uuid, name)}"
            run = replace(run, audio_upload=name, audio_url=None)
        if not needs_fetch(run):  # else the input stage sets it once every URL input is stored
            input_path = stored
        try:
            tasktoken = token(30)
            task = self.store.create_task(
                project_id=project.id,
                token=tasktoken,
                sealed_token=self.keyring.seal(tasktoken) or tasktoken,
                max_active=self.settings.max_active_tasks,
                uuid=task_uuid,
                modelslugowner=MODEL_OWNER,
                modelslugproject=MODEL_PROJECT,
                engine=self.settings.engine,
                parameters=run.parameters(),
                callbackurl=callback_url or run.callback_url or "",
                input_path=input_path,
                callback_dialect=callback_dialect,
                callback_events=None if callback_events is None else ",".join(callback_events),
            )
        except StorageError:
            self._forget_input(stored)  # nothing half-written stays behind
            self._forget_input(audio_path)
            raise
        except ActiveLimitReached:
            self._forget_input(stored)
            self._forget_input(audio_path)
            raise LimitReached(
                f"Concurrency limit reached: at most {self.settings.max_active_tasks} unfinished "
                "tasks per project; wait for one to finish",
                retry_after=5,
            ) from None
        logger.info("task created", extra={"task_id": task.id, "project_id": project.id})
        self.publish(Event(Status.queue.value, task.id, task.token_digest))
        if task.input_path:
            self.dispatcher.submit(task.id)
        else:
            self.input_stage.fetch(task)
        return task

    # -- the input stage: URL inputs are stored before any worker sees the task (inputs.py) ----

    def start(self) -> None:
        """Resume the fetches a stopped or dead process left; in scale-out, take over those of
        replicas that die later (inputs.py)."""
        self.input_stage.start()

    def close(self) -> None:
        self.input_stage.stop()
        self.fetches.close()

    def _forget_input(self, input_path: str | None) -> None:
        if input_path is None:
            return
        try:
            self.inputs.delete(input_path.removeprefix("inputs/"))
        except StorageError:
            logger.warning("input of a task not created left behind", extra={"path": input_path})

    def check_url(self, url: str, parameter: str) -> None:
        """Apply the fetch rules to a URL a caller gave (FetchError names `parameter`)."""
        check_url(url, self.policy, parameter=parameter)

    def find(self, project: Project, ref: TaskRef) -> Row[Any]:
        return self.detail(project, ref)[0]

    def detail(self, project: Project, ref: TaskRef) -> tuple[Row[Any], list[Row[Any]]]:
        """A project's task with its outputs; another project's task is not there."""
        found = self.store.find_with_outputs(
            project.id, task_id=ref.task_id, tasktoken=ref.tasktoken
        )
        if found is None:
            raise NotFound(NO_TASK)
        return found

    def live_detail(self, project: Project, ref: TaskRef) -> tuple[Row[Any], list[Row[Any]]]:
        """`detail`, for the dialects that delete objects: a deleted task is not there."""
        task, outputs = self.detail(project, ref)
        if task.deletedtime is not None:
            raise NotFound(NO_TASK)
        return task, outputs

    def delete(self, project: Project, ref: TaskRef) -> Task | Row[Any]:
        """Delete a task outright: kill it if unfinished, delete its input and outputs as
        `delete_io` does, and mark it deleted, so that `live_detail` and `page` no longer show it
        (`detail` still does, with no outputs)."""
        task = self.live_detail(project, ref)[0]
        ref = TaskRef(task_id=task.id)
        if not Status(task.status).is_final:
            with contextlib.suppress(Conflict):  # it ended meanwhile: delete it as it is
                self.kill(project, ref)
        self.delete_io(project, ref)
        self.store.update_fields(task.id, deletedtime=time.time())
        return self.store.get(task.id) or task

    def page(
        self, project: Project, after: int | None, count: int, *, descending: bool = True
    ) -> Page:
        """Up to `count` of a project's tasks after task `after` (a cursor), deleted ones left
        out, newest first unless `descending` is False."""
        tasks = self.store.tasks_page(project.id, after, count + 1, descending, deleted=False)
        shown = tasks[:count]
        return Page(shown, self.store.outputs([t.id for t in shown]), len(tasks) > count)

    def by_token(self, tasktoken: str) -> Task | None:
        """A task by its socket access token (the token is the credential: no project)."""
        return self.store.by_token(tasktoken)

    def by_token_digest(self, digest: str) -> Task | None:
        """A task by its token's digest, the key its events are published under."""
        return self.store.by_token_digest(digest)

    def token_of(self, task: Task | Row[Any]) -> str:
        """A task's socket access token in clear, for the one who may see it (Wiro's Run, Detail,
        List and callback show it); the store keeps it sealed (`Task.socketaccesstoken`)."""
        return self._open(task.socketaccesstoken) or ""

    def accesskey_of(self, output: Output | Row[Any]) -> str:
        """An output's access key in clear, for the URLs every dialect shows its project (the
        store keeps it sealed: `Output.accesskey`)."""
        return self._open(output.accesskey) or ""

    def status_of(self, task_id: int) -> Status | None:
        """A task's status (None: no such task); one small read, for waiting on a task."""
        return self.store.status_of(task_id)

    def webhook_secret(self, project: Project) -> str:
        """The project's `whsec_` webhook signing secret, made on first need (the store is the
        truth: a key cache may hold an older copy of the project)."""
        with _SECRET_LOCK:
            current = self.store.project(project.id)
            stored = current.webhook_secret if current is not None else None
            if stored:
                return self.keyring.open(stored) or ""
            secret = new_webhook_secret()  # sealed at rest like every secret (keyring.py)
            self.store.update_project(project.id, webhook_secret=self.keyring.seal(secret))
            return secret

    def project(self, project_id: int) -> Project | None:
        """A project as the store has it now (revoked or not)."""
        return self.store.project(project_id)

    def outputs_of(self, tasks: list[Task]) -> dict[int, list[Output]]:
        """The outputs of tasks, by task id."""
        return self.store.outputs(t.id for t in tasks)

    def file(self, output_id: str, *, accesskey: str, name: str) -> Output:
        """An output by its unguessable URL: a wrong accesskey or name, or an expired output, is
        not there. The key is checked against its digest: the store keeps the key sealed."""
        output = self.store.output(output_id)
        if (
            output is None
            or not hmac.compare_digest(output.accesskey_digest, token_digest(accesskey))
            or output.name != name
            or not is_live(output)
        ):
            raise NotFound("There is no file.")
        return output

    def project_file(self, project: Project, output_id: str) -> Output:
        """A project's unexpired output by id; another project's is not there."""
        output = self.store.output(output_id)
        task = self.store.get(output.task_id) if output is not None and is_live(output) else None
        if output is None or task is None or task.project_id != project.id:
            raise NotFound("There is no file.")
        return output

    def remix(
        self,
        project: Project,
        ref: TaskRef,
        prompt: str,
        *,
        callback_dialect: str | None = None,
        callback_url: str | None = None,
    ) -> Task:
        """A new task from a task's photo, length, size and model, with a new prompt (InputGone
        when its photo was deleted)."""
        source_task = self.live_detail(project, ref)[0]
        source = RunInput.from_parameters(source_task.parameters or {})
        upload = None
        if source_task.input_path:
            data = self.inputs.read(source_task.input_path.removeprefix("inputs/"))
            upload = Upload(filename=source.upload or "input", data=data)
        elif not source.image_url:
            raise InputGone("the task's photo was deleted; it cannot be remixed")
        run = RunInput(image_url=source.image_url, prompt=prompt)
        run = parse_run(
            run.parameters(),
            upload_size=len(upload.data) if upload is not None else None,
            check_url=self.check_url,
        ).with_output(
            seconds=source.seconds,
            short_side=source.short_side,
            size=source.size,
            model=source.model,
            remix_of=source_task.id,
            follow_speech=source.follow_speech,
        )
        return self.run(
            project, run, upload, callback_dialect=callback_dialect, callback_url=callback_url
        )

    def cancel(self, project: Project, ref: TaskRef) -> Task:
        """Cancel a task that has not started."""
        task = self.find(project, ref)
        if not self.lifecycle.cancel(task.id, allowed_from=CANCELLABLE, how="cancelled"):
            raise Conflict("Task is not in a cancellable state.")
        self.input_stage.abort_fetch(task.id)
        self.dispatcher.kill(task.id)
        return self.store.get(task.id) or task

    def kill(self, project: Project, ref: TaskRef) -> Task:
        """Stop a task at any non-final status; it ends in task_cancel at once."""
        task = self.find(project, ref)
        if not self.lifecycle.cancel(task.id, allowed_from=UNFINISHED, how="killed"):
            raise Conflict("Task could not be killed: task is already finished")
        self.input_stage.abort_fetch(task.id)
        self.dispatcher.kill(task.id)
        return self.store.get(task.id) or task

    def list(self, project: Project, fields: dict[str, Any]) -> tuple[int, list[Task]]:
        start = _int_field(fields, "start", 0, 0, 10**9)
        limit = _int_field(fields, "limit", 20, 1, 1000)
        order = str(fields.get("order") or "desc").lower()
        if order not in ("asc", "desc"):
            raise InputError("Request parameter [order] must be asc or desc", parameter="order")
        statuses = [s.strip() for s in str(fields.get("status") or "").split(",") if s.strip()]
        known = {s.value for s in Status}
        unknown = [s for s in statuses if s not in known]
        if unknown:
            raise InputError(
                f"Request parameter [status] has unknown status {unknown[0]!r}", parameter="status"
            )
        return self.store.list_tasks(
            project.id, start=start, limit=limit, descending=order == "desc", statuses=statuses
        )

    def delete_io(
        self, project: Project, ref: TaskRef, outputs: Storage | None = None
    ) -> Task | Row[Any]:
        """Delete a final task's input and outputs; deleting again changes nothing."""
        task = self.find(project, ref)
        if not Status(task.status).is_final:
            raise Conflict("Task is not finished; kill it first.")
        storage = outputs or self.outputs
        for output in self.store.delete_outputs(task.id):
            storage.delete(output.key)
        if task.input_path:
            self.inputs.delete(task.input_path.removeprefix("inputs/"))
            self.store.update_fields(task.id, input_path=None)
        run = RunInput.from_parameters(task.parameters or {})
        if run.upload and not task.input_path:  # ended while its URL inputs were fetched
            self.inputs.delete(input_key(task.uuid, _safe_name(run.upload)))
        if run.audio_upload:
            self.inputs.delete(audio_key(task.uuid, run.audio_upload))
        if run.audio_url:  # the voice the input stage fetched (inputs.py)
            self.inputs.delete(audio_key(task.uuid, FETCHED_AUDIO))
        return self.store.get(task.id) or task


def _int_field(fields: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    raw = fields.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(str(raw))
    except ValueError:
        raise InputError(f"Request parameter [{name}] must be an integer", parameter=name) from None
    if not low <= value <= high:
        raise InputError(
            f"Request parameter [{name}] must be between {low} and {high}", parameter=name
        )
    return value


def _safe_name(filename: str) -> str:
    name = "".join(c for c in filename.rsplit("/", 1)[-1] if c.isalnum() or c in "._-")[-60:]
    return name or "upload"
