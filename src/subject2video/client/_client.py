"""`Client` (sync, httpx.Client) and `AsyncClient` (asyncio, httpx.AsyncClient).

Both hand every request to the same `Core` to build and every response to it to parse; only the
send, the sleeps and the streams differ.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from subject2video.client._core import (
    DEFAULT_MODEL,
    Config,
    Core,
    ImageInput,
    Request,
    TaskRef,
    output_path,
    task_token,
)
from subject2video.client._download import CHUNK, Download
from subject2video.client._events import async_events, sync_events
from subject2video.client._exceptions import (
    APIError,
    DownloadError,
    TransportError,
)
from subject2video.client._models import Event, RunResult, Task

logger = logging.getLogger(__name__)

#: How long `wait` waits unless told otherwise (seconds).
DEFAULT_WAIT = 600.0


def _config(
    config: Config | None,
    api_key: str | None,
    api_secret: str | None,
    base_url: str | None,
    timeout: float | None,
    socket_url: str | None,
    max_retries: int | None,
) -> Config:
    if config is not None:
        return config
    return Config.from_env(
        api_key=api_key,
        api_secret=api_secret,
        base_url=base_url,
        timeout=timeout,
        socket_url=socket_url,
        max_retries=max_retries,
    )


def _deadline(timeout: float | None) -> float | None:
    return None if timeout is None else time.monotonic() + timeout


class _Base:
    """What both clients share besides the core: configuration and argument handling."""

    def __init__(
        self,
        api_key: str | None = None,
        api_secret: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float | None = None,
        socket_url: str | None = None,
        max_retries: int | None = None,
        config: Config | None = None,
    ) -> None:
        self._core = Core(
            _config(config, api_key, api_secret, base_url, timeout, socket_url, max_retries)
        )

    @property
    def config(self) -> Config:
        return self._core.config

    def _headers(self, request: Request) -> dict[str, str]:
        return {
            **request.headers,
            **self._core.auth_headers(),
            "Content-Type": request.content_type,
        }

    def _failed(self, request: Request, attempt: int, exc: Exception) -> tuple[Exception, float]:
        """The error to raise for a failed try, and the delay before the next (raise if < 0)."""
        transport = isinstance(exc, httpx.TransportError)
        error = TransportError(f"{request.path}: {exc!r}") if transport else exc
        delay = self._core.retry_delay(request, attempt, error, transport=transport)
        if delay is not None:
            logger.debug("retrying %s in %.2fs after %r", request.path, delay, error)
        return error, -1.0 if delay is None else delay


class Client(_Base):
    """A synchronous client for Wiro's task API (the hosted service or this server).

    >>> with Client() as client:  # WIRO_API_KEY, WIRO_API_SECRET, S2V_BASE_URL
    ...     task = client.wait(client.run(image="face.jpg", prompt="She smiles"))
    ...     client.download(task, ".")
    """

    def __init__(self, *args: Any, transport: httpx.BaseTransport | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._http = httpx.Client(
            timeout=self.config.timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, request: Request) -> dict[str, Any]:
        attempt = 0
        while True:
            try:
                response = self._http.request(
                    request.method,
                    self._core.url(request.path),
                    content=request.content,
                    headers=self._headers(request),
                )
                return self._core.parse(response)
            except (httpx.TransportError, APIError) as exc:
                error, delay = self._failed(request, attempt, exc)
                if delay < 0:
                    raise error from (exc if error is not exc else None)
            time.sleep(delay)
            attempt += 1

    def run(
        self,
        model: str = DEFAULT_MODEL,
        *,
        image: ImageInput,
        prompt: str | None = None,
        callback_url: str | None = None,
        **params: Any,
    ) -> RunResult:
        """Create a task; a local path or bytes are uploaded, a URL is passed on. Never retried."""
        request = self._core.run_request(model, image, prompt, callback_url, params)
        return self._core.run_result(self._send(request))

    def detail(self, task: TaskRef) -> Task:
        """One task, by id or socket access token."""
        return self._core.task(self._send(self._core.task_request("Detail", task)))

    def cancel(self, task: TaskRef) -> Task:
        """Cancel a task that has not started (ConflictError otherwise)."""
        return self._core.task(self._send(self._core.task_request("Cancel", task)))

    def kill(self, task: TaskRef) -> Task:
        """Stop a task at any non-final status (ConflictError on a final one)."""
        return self._core.task(self._send(self._core.task_request("Kill", task)))

    def delete_io(self, task: TaskRef) -> Task:
        """Delete a final task's input and outputs."""
        return self._core.task(self._send(self._core.task_request("InputOutputDelete", task)))

    def list_tasks(self, **filters: Any) -> list[Task]:
        """This project's tasks, newest first (start, limit, order, status)."""
        return self._core.tasks(self._send(self._core.list_request(**filters)))

    def tool_detail(self, model: str = DEFAULT_MODEL) -> dict[str, Any]:
        """The model's description and parameter schema, as the server sends it."""
        tools = self._send(self._core.tool_request(model)).get("tool") or [{}]
        return tools[0]

    def events(self, task: TaskRef, timeout: float | None = DEFAULT_WAIT) -> Iterator[Event]:
        """Typed events of a task until it is final (WebSocket, or polling where none answers)."""
        token = task_token(task) or self.detail(task).socketaccesstoken
        ref: TaskRef = task.taskid if isinstance(task, RunResult) else task
        yield from sync_events(
            lambda: self.detail(ref), token, self.config.events_url, _deadline(timeout)
        )

    def wait(self, task: TaskRef, timeout: float | None = DEFAULT_WAIT) -> Task:
        """The task once final (done, failed or cancelled); WaitTimeout past `timeout` seconds."""
        last: Event | None = None
        for event in self.events(task, timeout):
            last = event
        return last.task if last is not None and last.task is not None else self.detail(task)

    def download(self, task: TaskRef, directory: str | Path = ".") -> list[Path]:
        """Stream the task's outputs into `directory`; resumes partial files, checks sizes."""
        final = task if isinstance(task, Task) else self.detail(task)
        Path(directory).mkdir(parents=True, exist_ok=True)
        return [
            self._download(Download(o, output_path(final, o, Path(directory))))
            for o in final.outputs
        ]

    def _download(self, item: Download) -> Path:
        attempt = 0
        while not item.done:
            try:
                with self._http.stream("GET", item.output.url, headers=item.headers()) as resp:
                    out = item.open(resp.status_code)
                    if out is not None:
                        with out:
                            for chunk in resp.iter_bytes(CHUNK):
                                out.write(chunk)
                return item.finish()
            except (httpx.TransportError, DownloadError) as exc:
                if attempt >= self.config.max_retries:
                    raise DownloadError(f"{item.output.url}: {exc}") from exc
            attempt += 1
            time.sleep(0.2 * attempt)
        return item.path


class AsyncClient(_Base):
    """The asyncio client: the same calls as `Client`, awaited.

    >>> async with AsyncClient() as client:
    ...     task = await client.wait(await client.run(image="face.jpg", prompt="She smiles"))
    """

    def __init__(
        self, *args: Any, transport: httpx.AsyncBaseTransport | None = None, **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        self._http = httpx.AsyncClient(
            timeout=self.config.timeout,
            transport=transport,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, *exc: type[BaseException] | BaseException | TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, request: Request) -> dict[str, Any]:
        attempt = 0
        while True:
            try:
                response = await self._http.request(
                    request.method,
                    self._core.url(request.path),
                    content=request.content,
                    headers=self._headers(request),
                )
                return self._core.parse(response)
            except (httpx.TransportError, APIError) as exc:
                error, delay = self._failed(request, attempt, exc)
                if delay < 0:
                    raise error from (exc if error is not exc else None)
            await asyncio.sleep(delay)
            attempt += 1

    async def run(
        self,
        model: str = DEFAULT_MODEL,
        *,
        image: ImageInput,
        prompt: str | None = None,
        callback_url: str | None = None,
        **params: Any,
    ) -> RunResult:
        """Create a task; a local path or bytes are uploaded, a URL is passed on. Never retried."""
        request = self._core.run_request(model, image, prompt, callback_url, params)
        return self._core.run_result(await self._send(request))

    async def detail(self, task: TaskRef) -> Task:
        """One task, by id or socket access token."""
        return self._core.task(await self._send(self._core.task_request("Detail", task)))

    async def cancel(self, task: TaskRef) -> Task:
        """Cancel a task that has not started (ConflictError otherwise)."""
        return self._core.task(await self._send(self._core.task_request("Cancel", task)))

    async def kill(self, task: TaskRef) -> Task:
        """Stop a task at any non-final status (ConflictError on a final one)."""
        return self._core.task(await self._send(self._core.task_request("Kill", task)))

    async def delete_io(self, task: TaskRef) -> Task:
        """Delete a final task's input and outputs."""
        request = self._core.task_request("InputOutputDelete", task)
        return self._core.task(await self._send(request))

    async def list_tasks(self, **filters: Any) -> list[Task]:
        """This project's tasks, newest first (start, limit, order, status)."""
        return self._core.tasks(await self._send(self._core.list_request(**filters)))

    async def tool_detail(self, model: str = DEFAULT_MODEL) -> dict[str, Any]:
        """The model's description and parameter schema, as the server sends it."""
        tools = (await self._send(self._core.tool_request(model))).get("tool") or [{}]
        return tools[0]

    async def events(
        self, task: TaskRef, timeout: float | None = DEFAULT_WAIT
    ) -> AsyncIterator[Event]:
        """Typed events of a task until it is final (WebSocket, or polling where none answers)."""
        token = task_token(task) or (await self.detail(task)).socketaccesstoken
        ref: TaskRef = task.taskid if isinstance(task, RunResult) else task
        stream = async_events(
            lambda: self.detail(ref), token, self.config.events_url, _deadline(timeout)
        )
        async with contextlib.aclosing(stream):
            async for event in stream:
                yield event

    async def wait(self, task: TaskRef, timeout: float | None = DEFAULT_WAIT) -> Task:
        """The task once final (done, failed or cancelled); WaitTimeout past `timeout` seconds."""
        last: Event | None = None
        async for event in self.events(task, timeout):
            last = event
        if last is not None and last.task is not None:
            return last.task
        return await self.detail(task)

    async def download(self, task: TaskRef, directory: str | Path = ".") -> list[Path]:
        """Stream the task's outputs into `directory`; resumes partial files, checks sizes."""
        final = task if isinstance(task, Task) else await self.detail(task)
        Path(directory).mkdir(parents=True, exist_ok=True)
        return [
            await self._download(Download(o, output_path(final, o, Path(directory))))
            for o in final.outputs
        ]

    async def _download(self, item: Download) -> Path:
        attempt = 0
        while not item.done:
            try:
                async with self._http.stream("GET", item.output.url, headers=item.headers()) as r:
                    out = item.open(r.status_code)
                    if out is not None:
                        with out:
                            async for chunk in r.aiter_bytes(CHUNK):
                                out.write(chunk)
                return item.finish()
            except (httpx.TransportError, DownloadError) as exc:
                if attempt >= self.config.max_retries:
                    raise DownloadError(f"{item.output.url}: {exc}") from exc
            attempt += 1
            await asyncio.sleep(0.2 * attempt)
        return item.path
