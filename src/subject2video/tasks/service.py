"""The task service: what the API's routes call. Routes parse; this decides and records."""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Row

from subject2video import MODEL_OWNER, MODEL_PROJECT
from subject2video.api.errors import CONCURRENCY, NOT_FOUND, ApiError
from subject2video.config import Settings
from subject2video.errors import FetchError
from subject2video.media.fetch import FetchPolicy, check_url
from subject2video.media.storage import Storage, open_storage
from subject2video.tasks import callbacks
from subject2video.tasks.dispatch import Dispatcher
from subject2video.tasks.events import Event, EventSink
from subject2video.tasks.models import Project, Task
from subject2video.tasks.runner import IMAGE_PARAM
from subject2video.tasks.status import CANCELLABLE, ORDER, Status
from subject2video.tasks.store import ActiveLimitReached, Store

logger = logging.getLogger(__name__)

MAX_PROMPT = 2000
MAX_IMAGE_BYTES = 20 * 1024 * 1024
#: Parameters of the model (Tool/Detail lists them); other fields are ignored.
KNOWN_PARAMETERS = ("inputImageFirstUrl", "inputImageFirst", "prompt", "callbackUrl", "seed")


@dataclass(frozen=True)
class Upload:
    """An uploaded input image."""

    filename: str
    data: bytes


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
            if not raw_id.isdigit():
                raise ApiError("There is no task yet.", code=NOT_FOUND, status=404)
            return cls(task_id=int(raw_id))
        if tok:
            return cls(tasktoken=tok)
        raise ApiError("Request parameter [taskid] or [tasktoken] required")


def model_slug_ok(owner: str, project: str) -> bool:
    return owner.lower() == MODEL_OWNER.lower() and project.lower() == MODEL_PROJECT.lower()


class TaskService:
    """Creates, finds, cancels, kills, lists and cleans tasks for a project."""

    def __init__(
        self, settings: Settings, store: Store, dispatcher: Dispatcher, publish: EventSink
    ) -> None:
        self.settings = settings
        self.store = store
        self.dispatcher = dispatcher
        self.publish = publish
        self.policy = FetchPolicy.from_settings(settings)
        self.inputs = open_storage(settings, "inputs")

    def run(
        self,
        project: Project,
        fields: dict[str, Any],
        upload: Upload | None,
        *,
        callback_dialect: str | None = None,
    ) -> Task:
        """Validate what can be checked without downloading, then create and dispatch the task.

        `callback_dialect` says whose callback rules the task follows (None: Wiro's).
        """
        params = self._parameters(fields, upload)
        callback = str(fields.get("callbackUrl") or "").strip()
        if callback:
            self._check_url(callback, "callbackUrl")
        # The input is on disk before the task row exists, so a crash between the two leaves an
        # orphan file at worst, never a task without its input.
        task_uuid = str(uuid.uuid4())
        input_path = None
        if upload is not None:
            key = f"{task_uuid}/{secrets.token_hex(8)}-{_safe_name(upload.filename)}"
            self.inputs.write(key, upload.data)
            input_path = f"inputs/{key}"
            params["inputImageFirst"] = _safe_name(upload.filename)
        try:
            task = self.store.create_task(
                project_id=project.id,
                max_active=self.settings.max_active_tasks,
                uuid=task_uuid,
                modelslugowner=MODEL_OWNER,
                modelslugproject=MODEL_PROJECT,
                engine=self.settings.engine,
                parameters=params,
                callbackurl=callback,
                input_path=input_path,
                callback_dialect=callback_dialect,
            )
        except ActiveLimitReached:
            if input_path is not None:
                self.inputs.delete(input_path.removeprefix("inputs/"))
            raise ApiError(
                f"Concurrency limit reached: at most {self.settings.max_active_tasks} unfinished "
                "tasks per project; wait for one to finish",
                code=CONCURRENCY,
                status=429,
                headers={"Retry-After": "5"},
            ) from None
        logger.info("task created", extra={"task_id": task.id, "project_id": project.id})
        self.publish(Event(Status.queue.value, task.id, task.socketaccesstoken))
        self.dispatcher.submit(task.id)
        return task

    def find(self, project: Project, ref: TaskRef) -> Row[Any]:
        return self.detail(project, ref)[0]

    def detail(self, project: Project, ref: TaskRef) -> tuple[Row[Any], list[Row[Any]]]:
        """A project's task with its outputs; another project's task is not there."""
        found = self.store.find_with_outputs(
            project.id, task_id=ref.task_id, tasktoken=ref.tasktoken
        )
        if found is None:
            raise ApiError("There is no task yet.", code=NOT_FOUND, status=404)
        return found

    def cancel(self, project: Project, ref: TaskRef) -> Task:
        """Cancel a task that has not started."""
        task = self.find(project, ref)
        if not self.store.transition(task.id, Status.cancel, allowed_from=CANCELLABLE):
            raise ApiError("Task is not in a cancellable state.", code=NOT_FOUND, status=409)
        self.dispatcher.kill(task.id)
        return self._ended(task, "cancelled")

    def kill(self, project: Project, ref: TaskRef) -> Task:
        """Stop a task at any non-final status; it ends in task_cancel at once."""
        task = self.find(project, ref)
        running = [s for s in ORDER if not s.is_final]
        if not self.store.transition(task.id, Status.cancel, allowed_from=running):
            raise ApiError(
                "Task could not be killed: task is already finished", code=NOT_FOUND, status=409
            )
        self.dispatcher.kill(task.id)
        return self._ended(task, "killed")

    def list(self, project: Project, fields: dict[str, Any]) -> tuple[int, list[Task]]:
        start = _int_field(fields, "start", 0, 0, 10**9)
        limit = _int_field(fields, "limit", 20, 1, 1000)
        order = str(fields.get("order") or "desc").lower()
        if order not in ("asc", "desc"):
            raise ApiError("Request parameter [order] must be asc or desc")
        statuses = [s.strip() for s in str(fields.get("status") or "").split(",") if s.strip()]
        known = {s.value for s in Status}
        unknown = [s for s in statuses if s not in known]
        if unknown:
            raise ApiError(f"Request parameter [status] has unknown status {unknown[0]!r}")
        return self.store.list_tasks(
            project.id, start=start, limit=limit, descending=order == "desc", statuses=statuses
        )

    def delete_io(self, project: Project, ref: TaskRef, outputs: Storage) -> Task | Row[Any]:
        """Delete a final task's input and outputs; deleting again changes nothing."""
        task = self.find(project, ref)
        if not Status(task.status).is_final:
            raise ApiError("Task is not finished; kill it first.", code=NOT_FOUND, status=409)
        for output in self.store.delete_outputs(task.id):
            outputs.delete(output.key)
        if task.input_path:
            self.inputs.delete(task.input_path.removeprefix("inputs/"))
            self.store.update_fields(task.id, input_path=None)
        return self.store.get(task.id) or task

    # -- helpers ----------------------------------------------------------------------------

    def _ended(self, task: Row[Any], how: str) -> Task:
        logger.info("task %s", how, extra={"task_id": task.id})
        self.publish(Event(Status.cancel.value, task.id, task.socketaccesstoken))
        callbacks.enqueue(self.store, self.settings, task.id)
        return self.store.get(task.id) or task

    def _parameters(self, fields: dict[str, Any], upload: Upload | None) -> dict[str, Any]:
        params: dict[str, Any] = {}
        url = _text(fields.get(IMAGE_PARAM) or fields.get("inputImageUrl"))
        if not url and isinstance(fields.get("inputImageFirst"), str):
            url = _text(fields.get("inputImageFirst"))
        if upload is not None:
            if len(upload.data) > MAX_IMAGE_BYTES:
                raise ApiError(
                    f"Request parameter [inputImageFirst] is {len(upload.data)} bytes; "
                    "at most 20 MB are accepted",
                    status=413,
                )
            if not upload.data:
                raise ApiError("Request parameter [inputImageFirst] is an empty file")
        elif not url:
            raise ApiError(f"Request parameter [{IMAGE_PARAM}] required")
        else:
            self._check_url(url, IMAGE_PARAM)
            params[IMAGE_PARAM] = url
        prompt = fields.get("prompt")
        if prompt is not None and not isinstance(prompt, str):
            raise ApiError("Request parameter [prompt] must be text")
        if prompt:
            if len(prompt) > MAX_PROMPT:
                raise ApiError(
                    f"Request parameter [prompt] is {len(prompt)} characters; "
                    f"at most {MAX_PROMPT} are accepted"
                )
            params["prompt"] = prompt
        seed = _text(fields.get("seed"))
        if seed:
            if not seed.lstrip("-").isdigit():
                raise ApiError(f"Request parameter [seed] must be an integer, got {seed!r}")
            params["seed"] = seed
        callback = _text(fields.get("callbackUrl"))
        if callback:
            params["callbackUrl"] = callback
        return params

    def _check_url(self, url: str, parameter: str) -> None:
        try:
            check_url(url, self.policy, parameter=parameter)
        except FetchError as exc:
            raise ApiError(exc.message) from None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _int_field(fields: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    raw = fields.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(str(raw))
    except ValueError:
        raise ApiError(f"Request parameter [{name}] must be an integer") from None
    if not low <= value <= high:
        raise ApiError(f"Request parameter [{name}] must be between {low} and {high}")
    return value


def _safe_name(filename: str) -> str:
    name = "".join(c for c in filename.rsplit("/", 1)[-1] if c.isalnum() or c in "._-")[-60:]
    return name or "upload"
