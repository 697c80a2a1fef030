"""The Python client against real servers: both auth modes, strict nonces, WebSocket and polling."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from subject2video.client import (
    AsyncClient,
    AuthenticationError,
    Client,
    ConflictError,
    Event,
    NotFoundError,
    Task,
    TaskStatus,
    WaitTimeout,
)
from tests.utils.server import Project, Server, free_port
from tests.utils.video import assert_contract_video


def _client(server: Server, project: Project, **kwargs: object) -> Client:
    return Client(project.apikey, project.apisecret, server.url, **kwargs)  # type: ignore[arg-type]


def _closed_socket() -> str:
    return f"ws://127.0.0.1:{free_port()}/v1"


def test_wait_by_websocket_and_by_polling_agree(
    server: Server, project: Project, face: bytes, tmp_path: Path
) -> None:
    image = tmp_path / "face.jpg"
    image.write_bytes(face)
    live, polled = _client(server, project), _client(server, project, socket_url=_closed_socket())
    with live, polled:
        run = live.run(image=image, prompt="She smiles and turns her head")
        seen: dict[str, list[Event]] = {"live": [], "polled": []}
        results: dict[str, Task] = {}

        def follow(name: str, client: Client) -> None:
            seen[name] = list(client.events(run, timeout=60))
            results[name] = client.wait(run, timeout=10)

        threads = [
            threading.Thread(target=follow, args=("live", live)),
            threading.Thread(target=follow, args=("polled", polled)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)

        # The socket's events carry no Detail; the polled ones each carry the Detail they came from.
        assert all(e.task is None for e in seen["live"]) and seen["live"][-1].is_final
        assert all(e.task is not None for e in seen["polled"]) and seen["polled"][-1].is_final
        assert any(e.progress is not None for e in seen["live"])
        assert results["live"] == results["polled"]
        assert results["live"].raw == results["polled"].raw
        task = results["live"]
        assert task.succeeded and task.status is TaskStatus.postprocess_end
        assert task.parameters["prompt"] == "She smiles and turns her head"

        [path] = live.download(task, tmp_path / "out")
        assert path.stat().st_size == task.outputs[0].size
        assert_contract_video(path, aspect=1.0)

        # Resumable: a partial file is continued with a Range request, not started over.
        whole = path.read_bytes()
        path.unlink()
        path.with_name(path.name + ".part").write_bytes(whole[: len(whole) // 3])
        assert live.download(task.id, tmp_path / "out") == [path]
        assert path.read_bytes() == whole


def test_key_only_project_with_an_image_url(server: Server, key_only: Project, images: str) -> None:
    with _client(server, key_only, socket_url="") as client:
        run = client.run(image=f"{images}/face.jpg", prompt="He nods")
        task = client.wait(run.socketaccesstoken, timeout=60)
        assert task.succeeded and task.id == run.taskid
        assert task.parameters["inputImageFirstUrl"] == f"{images}/face.jpg"
        assert client.detail(run.socketaccesstoken) == client.detail(run.taskid)
        with pytest.raises(ConflictError) as caught:
            client.kill(run)
        assert caught.value.status == 409 and caught.value.codes == [1]
        with pytest.raises(ConflictError):
            client.cancel(run)
        with pytest.raises(NotFoundError) as missing:
            client.detail(10**9)
        assert missing.value.errors == [{"code": 1, "message": "There is no task yet."}]
        assert run.taskid in [t.id for t in client.list_tasks(limit=50)]
        assert client.delete_io(run).outputs == []
        assert client.delete_io(run.taskid).outputs == []  # idempotent
        tool = client.tool_detail()
        assert tool["slugowner"] == "MiniMax"
        assert tool["parameters"][0]["name"] == "inputImageFirstUrl"
    with (
        Client("no-such-key", None, server.url) as stranger,
        pytest.raises(AuthenticationError) as denied,
    ):
        stranger.detail(run.taskid)
    assert denied.value.status == 401 and denied.value.codes == [0]


def test_strict_nonces_and_50_parallel_details(tmp_path: Path, face: bytes) -> None:
    srv = Server(tmp_path / "strict", env={"S2V_ENGINE": "camera", "S2V_NONCE_POLICY": "strict"})
    srv.start()
    try:
        project = srv.keys("strict")
        # The policy is really strict: one nonce is accepted once.
        headers = project.headers()
        first = httpx.post(f"{srv.url}/v1/Task/List", headers=headers, json={})
        again = httpx.post(f"{srv.url}/v1/Task/List", headers=headers, json={})
        assert (first.status_code, again.status_code) == (200, 401)

        with _client(srv, project) as client:
            run = client.run(image=face, prompt="She blinks")
            with ThreadPoolExecutor(50) as pool:
                tasks = list(pool.map(lambda _: client.detail(run), range(50)))
            assert {t.id for t in tasks} == {run.taskid}
            task = client.wait(run, timeout=60)
            assert task.succeeded
            assert [t.id for t in client.list_tasks()] == [run.taskid]
            assert client.tool_detail()["slugproject"] == "image-to-video-hailuo-01-subject"

        async def parallel() -> list[Task]:
            async with AsyncClient(project.apikey, project.apisecret, srv.url) as aclient:
                return await asyncio.gather(*(aclient.detail(run.taskid) for _ in range(50)))

        assert all(t == task for t in asyncio.run(parallel()))
    finally:
        srv.stop()


def test_async_client_end_to_end(
    server: Server, project: Project, face: bytes, tmp_path: Path
) -> None:
    async def main() -> tuple[list[Event], Task, list[Path]]:
        async with AsyncClient(project.apikey, project.apisecret, server.url) as client:
            run = await client.run(image=face, prompt="She laughs")
            events = [e async for e in client.events(run, timeout=60)]
            task = await client.wait(run, timeout=10)
            return events, task, await client.download(task, tmp_path)

    events, task, paths = asyncio.run(main())
    assert events[-1].type is TaskStatus.postprocess_end
    percentages = [e.progress.percentage for e in events if e.progress is not None]
    assert percentages and percentages == sorted(percentages)
    assert task.succeeded and paths[0].stat().st_size == task.outputs[0].size


def test_wait_times_out_then_a_killed_task_returns_cancelled(
    paced_server: Server, face: bytes
) -> None:
    project = paced_server.keys("p")
    with (
        _client(paced_server, project) as live,
        _client(paced_server, project, socket_url=_closed_socket()) as polled,
    ):
        run = live.run(image=face)
        for client in (live, polled):
            started = time.monotonic()
            with pytest.raises(WaitTimeout):
                client.wait(run, timeout=0.5)
            assert time.monotonic() - started < 2.0

        async def async_timeout() -> None:
            async with AsyncClient(project.apikey, project.apisecret, paced_server.url) as a:
                await a.wait(run, timeout=0.5)

        started = time.monotonic()
        with pytest.raises(WaitTimeout):
            asyncio.run(async_timeout())
        assert time.monotonic() - started < 2.0

        for event in live.events(run, timeout=60):
            if event.type in (TaskStatus.start, TaskStatus.output):
                break
        live.kill(run)
        task = live.wait(run, timeout=10)
        assert task.cancelled and task.canceltime is not None and not task.outputs
        assert polled.wait(run, timeout=10) == task
