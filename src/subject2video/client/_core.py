"""The part of the client that does no I/O: configuration, signing, nonces, request building,
response parsing, error mapping and retry decisions. `Client` and `AsyncClient` only send.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import mimetypes
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from subject2video.client._exceptions import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from subject2video.client._models import Output, RunResult, Task
from subject2video.contract import CALLBACK, IMAGE, IMAGE_PARAM, PROMPT, UPLOAD_PARAM

DEFAULT_MODEL = "MiniMax/image-to-video-hailuo-01-subject"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
HOSTED_BASE_URL = "https://api.wiro.ai"
HOSTED_SOCKET_URL = "wss://socket.wiro.ai/v1"
#: Longest wait honoured from a `Retry-After` header before giving up with RateLimitError.
MAX_RETRY_AFTER = 60.0

#: What `run(image=...)` accepts: a local path, an http(s) URL, or the image's bytes.
ImageInput = str | os.PathLike[str] | bytes
#: How a task may be named: its id, its socket access token, or a parsed Task / RunResult.
TaskRef = int | str | Task | RunResult


def sign(apikey: str, apisecret: str, nonce: str) -> str:
    """hex(HMAC-SHA256(key=API key, message=API secret + nonce)), as Wiro's docs define it."""
    return hmac.new(apikey.encode(), (apisecret + nonce).encode(), hashlib.sha256).hexdigest()


class NonceGenerator:
    """Strictly increasing millisecond timestamps, safe to share between threads."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            self._last = max(time.time_ns() // 1_000_000, self._last + 1)
            return str(self._last)


#: One generator per process, so two clients with one key never send the same nonce.
default_nonces = NonceGenerator()


def socket_url_for(base_url: str) -> str:
    """The WebSocket URL for a base URL: the hosted API's socket host, else {base}/v1."""
    parts = urlsplit(base_url)
    if parts.hostname == urlsplit(HOSTED_BASE_URL).hostname:
        return HOSTED_SOCKET_URL
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/v1", "", ""))


@dataclass(frozen=True)
class Config:
    """Where the server is and how to prove who we are."""

    base_url: str = DEFAULT_BASE_URL
    api_key: str = ""
    api_secret: str | None = None
    #: Seconds for connect, read and write of one HTTP request.
    timeout: float = 30.0
    #: WebSocket URL for live events; None derives it from base_url, "" turns events off (polls).
    socket_url: str | None = None
    #: Extra tries of an idempotent call after a network failure, or of any call after a 429.
    max_retries: int = 3

    @classmethod
    def from_env(cls, **overrides: Any) -> Config:
        """From WIRO_API_KEY, WIRO_API_SECRET, S2V_BASE_URL, S2V_SOCKET_URL; arguments win."""
        env = {
            "api_key": os.environ.get("WIRO_API_KEY"),
            "api_secret": os.environ.get("WIRO_API_SECRET") or None,
            "base_url": os.environ.get("S2V_BASE_URL"),
            "socket_url": os.environ.get("S2V_SOCKET_URL"),
        }
        given = {k: v for k, v in overrides.items() if v is not None}
        values = {**{k: v for k, v in env.items() if v is not None}, **given}
        config = cls(**values)
        if not config.api_key:
            raise ValueError("an API key is required: pass api_key= or set WIRO_API_KEY")
        return config

    @property
    def events_url(self) -> str | None:
        if self.socket_url == "":
            return None
        return self.socket_url or socket_url_for(self.base_url)


@dataclass(frozen=True)
class Request:
    """One API call, ready to send but for its auth headers (fresh on every try)."""

    method: str
    path: str
    content: bytes
    content_type: str
    #: Safe to send again after a network failure (Detail, List, Tool/Detail; never Run).
    idempotent: bool
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Core:
    """Builds requests and parses responses; shared by Client and AsyncClient."""

    config: Config
    nonces: NonceGenerator = field(default_factory=lambda: default_nonces)

    # -- requests ---------------------------------------------------------------------------

    def auth_headers(self) -> dict[str, str]:
        """x-api-key, and for signature projects a fresh x-nonce and its x-signature."""
        headers = {"x-api-key": self.config.api_key}
        if self.config.api_secret:
            nonce = self.nonces()
            headers["x-nonce"] = nonce
            headers["x-signature"] = sign(self.config.api_key, self.config.api_secret, nonce)
        return headers

    def url(self, path: str) -> str:
        return self.config.base_url.rstrip("/") + path

    def run_request(
        self,
        model: str,
        image: ImageInput,
        prompt: str | None = None,
        callback_url: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> Request:
        """POST /v1/Run/{owner}/{project} as multipart/form-data (a local image is uploaded)."""
        owner, _, project = model.strip("/").partition("/")
        if not owner or not project:
            raise ValueError(f"model must be 'owner/project', got {model!r}")
        fields: dict[str, str] = {}
        files: dict[str, tuple[str, bytes, str]] = {}
        if isinstance(image, bytes):
            name = "image" + _extension(image)
            files[UPLOAD_PARAM] = (name, image, _mime(name))
        elif isinstance(image, str) and image.lower().startswith(("http://", "https://")):
            fields[IMAGE_PARAM] = image
        else:
            path = Path(image)
            if not path.is_file():
                raise ValueError(f"image {str(image)!r} is neither a file nor an http(s) URL")
            files[UPLOAD_PARAM] = (path.name, path.read_bytes(), _mime(path.name))
        if UPLOAD_PARAM in files:
            check_upload(len(files[UPLOAD_PARAM][1]))
        if prompt:
            check_prompt(prompt)
            fields[PROMPT.name] = prompt
        if callback_url:
            fields[CALLBACK.name] = callback_url
        for name, value in (params or {}).items():
            if value is not None:
                fields[name] = str(value)
        content_type, body = encode_multipart(fields, files)
        return Request("POST", f"/v1/Run/{owner}/{project}", body, content_type, idempotent=False)

    def json_request(self, path: str, body: dict[str, Any], *, idempotent: bool) -> Request:
        """A Task/* or Tool/* call with a JSON body."""
        content = json.dumps({k: v for k, v in body.items() if v is not None}).encode()
        return Request("POST", path, content, "application/json", idempotent=idempotent)

    def task_request(self, action: str, task: TaskRef) -> Request:
        """Task/Detail, Task/Cancel or Task/Kill naming one task by id or token."""
        return self.json_request(
            f"/v1/Task/{action}", task_body(task), idempotent=action == "Detail"
        )

    def list_request(
        self,
        *,
        start: int = 0,
        limit: int = 20,
        order: str | None = None,
        status: str | list[str] | None = None,
    ) -> Request:
        statuses = ",".join(status) if isinstance(status, list) else status
        body = {"start": str(start), "limit": str(limit), "order": order, "status": statuses}
        return self.json_request("/v1/Task/List", body, idempotent=True)

    def tool_request(self, model: str) -> Request:
        owner, _, project = model.strip("/").partition("/")
        body = {"slugowner": owner, "slugproject": project}
        return self.json_request("/v1/Tool/Detail", body, idempotent=True)

    # -- responses --------------------------------------------------------------------------

    def parse(self, response: httpx.Response) -> dict[str, Any]:
        """The JSON body of a successful call, or the APIError that its status and errors name."""
        try:
            body = response.json()
        except ValueError:
            body = None
        ok = isinstance(body, dict) and body.get("result") is not False
        if response.is_success and ok:
            return body  # type: ignore[return-value]
        raise api_error(response.status_code, body, response.headers.get("retry-after"))

    def run_result(self, body: dict[str, Any]) -> RunResult:
        return RunResult.from_wire(body)

    def task(self, body: dict[str, Any]) -> Task:
        tasks = body.get("tasklist") or []
        if not tasks:
            raise APIError("the answer names no task", status=200, body=body)
        return Task.from_wire(tasks[0])

    def tasks(self, body: dict[str, Any]) -> list[Task]:
        return [Task.from_wire(t) for t in body.get("tasklist") or []]

    # -- retries ----------------------------------------------------------------------------

    def retry_delay(
        self, request: Request, attempt: int, error: Exception, *, transport: bool
    ) -> float | None:
        """Seconds to wait before try `attempt + 1`, or None to give up and raise `error`."""
        if attempt >= self.config.max_retries:
            return None
        if isinstance(error, RateLimitError):
            # A 429 created nothing, so even Run may be sent again.
            wait = error.retry_after if error.retry_after is not None else backoff(attempt)
            return wait if wait <= MAX_RETRY_AFTER else None
        if not request.idempotent:
            return None
        if transport or (isinstance(error, ServerError) and error.status in (502, 503, 504)):
            return backoff(attempt)
        return None


def check_upload(size: int) -> None:
    """Refuse an image the server would refuse, before uploading it (the contract's limit)."""
    limit = int(IMAGE.limits["maxbytes"])
    if size > limit:
        raise ValueError(
            f"Request parameter [{UPLOAD_PARAM}] is {size} bytes; at most {limit} are accepted"
        )
    if size == 0:
        raise ValueError(f"Request parameter [{UPLOAD_PARAM}] is an empty file")


def check_prompt(prompt: str) -> None:
    """Refuse a prompt the server would refuse, before sending it (the contract's limit)."""
    limit = int(PROMPT.limits["maxlength"])
    if len(prompt) > limit:
        raise ValueError(
            f"Request parameter [{PROMPT.name}] is {len(prompt)} characters; "
            f"at most {limit} are accepted"
        )


def backoff(attempt: int, base: float = 0.25, cap: float = 4.0) -> float:
    """Exponential backoff with jitter: about base * 2**attempt, at most `cap`."""
    return min(cap, base * 2**attempt) * (0.5 + secrets.randbelow(1000) / 2000)


def task_body(task: TaskRef) -> dict[str, str]:
    """{"taskid": ...} for an id, {"tasktoken": ...} for a socket access token."""
    if isinstance(task, Task):
        return {"taskid": str(task.id)}
    if isinstance(task, RunResult):
        return {"taskid": str(task.taskid)}
    if isinstance(task, int) or (isinstance(task, str) and task.strip().isdigit()):
        return {"taskid": str(task).strip()}
    if isinstance(task, str) and task.strip():
        return {"tasktoken": task.strip()}
    raise ValueError(f"a task is named by its id or socket access token, got {task!r}")


def task_token(task: TaskRef) -> str | None:
    """The socket access token, where the reference carries one."""
    if isinstance(task, Task | RunResult):
        return task.socketaccesstoken or None
    if isinstance(task, str) and task.strip() and not task.strip().isdigit():
        return task.strip()
    return None


def api_error(status: int, body: Any, retry_after: str | None = None) -> APIError:
    """The exception for an error answer: its class from the HTTP status, its text from `errors`."""
    errors = body.get("errors") if isinstance(body, dict) else None
    errors = [e for e in errors or [] if isinstance(e, dict)]
    message = "; ".join(str(e.get("message", "")) for e in errors) or f"HTTP {status}"
    kwargs: dict[str, Any] = {"status": status, "errors": errors, "body": body}
    if status == 429 or any(e.get("code") == 96 for e in errors):
        return RateLimitError(message, retry_after=parse_retry_after(retry_after), **kwargs)
    cls: type[APIError] = {
        400: BadRequestError,
        401: AuthenticationError,
        404: NotFoundError,
        409: ConflictError,
        413: BadRequestError,
    }.get(status, ServerError if status >= 500 else APIError)
    return cls(message, **kwargs)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.replace(".", "", 1).isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def encode_multipart(
    fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]
) -> tuple[str, bytes]:
    """A multipart/form-data body (RFC 7578) and its Content-Type with the boundary."""
    boundary = secrets.token_hex(16)
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(_part(boundary, f'name="{_quote(name)}"', "", value.encode()))
    for name, (filename, data, mime) in files.items():
        disposition = f'name="{_quote(name)}"; filename="{_quote(filename)}"'
        parts.append(_part(boundary, disposition, f"Content-Type: {mime}\r\n", data))
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", body


def _part(boundary: str, disposition: str, extra: str, data: bytes) -> bytes:
    head = f"--{boundary}\r\nContent-Disposition: form-data; {disposition}\r\n{extra}\r\n"
    return head.encode() + data + b"\r\n"


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def _mime(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _extension(data: bytes) -> str:
    """A file extension for image bytes, from their magic number."""
    if data.startswith(b"\x89PNG"):
        return ".png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    return ".jpg"


def output_path(task: Task, output: Output, directory: Path) -> Path:
    """Where `download` puts an output: {dir}/{task id}-{output name}."""
    name = Path(output.name).name or f"{output.id}.bin"
    return directory / f"{task.id}-{name}"
