"""The client commands end to end: `s2v run` makes a playable MP4; Ctrl-C kills the remote task."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

from typer.testing import CliRunner

from subject2video.cli import app
from subject2video.client import Client, TaskStatus
from tests.utils.server import S2V, Project, Server
from tests.utils.video import assert_contract_video


def _env(server: Server, project: Project) -> dict[str, str]:
    return {
        **server._env(),
        "WIRO_API_KEY": project.apikey,
        "WIRO_API_SECRET": project.apisecret or "",
        "S2V_BASE_URL": server.url,
    }


def test_s2v_run_makes_a_playable_mp4(
    server: Server, project: Project, face: bytes, tmp_path: Path
) -> None:
    image = tmp_path / "face.jpg"
    image.write_bytes(face)
    out = subprocess.run(
        [*S2V, "run", str(image), "--prompt", "She smiles", "-o", str(tmp_path / "videos")],
        env=_env(server, project),
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert out.returncode == 0, out.stderr
    path = Path(out.stdout.strip().splitlines()[-1])
    assert path.parent == tmp_path / "videos" and path.suffix == ".mp4"
    assert "task_postprocess_end" in out.stderr
    assert_contract_video(path, aspect=1.0)


def test_task_and_tool_commands(server: Server, project: Project, face: bytes) -> None:
    with Client(project.apikey, project.apisecret, server.url) as client:
        task = client.wait(client.run(image=face), timeout=60)
    runner = CliRunner()
    env = _env(server, project)
    shown = runner.invoke(app, ["task", "show", str(task.id), "--json"], env=env)
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["id"] == str(task.id)
    text = runner.invoke(app, ["task", "show", task.socketaccesstoken], env=env)
    assert f"task {task.id}  task_postprocess_end" in text.output
    listed = runner.invoke(app, ["task", "list", "--limit", "100"], env=env)
    assert str(task.id) in listed.output
    killed = runner.invoke(app, ["task", "kill", str(task.id)], env=env)
    assert killed.exit_code == 1 and "already finished" in killed.output
    tool = runner.invoke(app, ["tool", "show", "--base-url", server.url], env=env)
    assert tool.exit_code == 0 and "inputImageFirstUrl" in tool.output
    anonymous = runner.invoke(app, ["task", "list"], env={"WIRO_API_KEY": ""})
    assert anonymous.exit_code == 2


def test_ctrl_c_kills_the_remote_task(paced_server: Server, face: bytes, tmp_path: Path) -> None:
    project = paced_server.keys("p")
    image = tmp_path / "face.jpg"
    image.write_bytes(face)
    proc = subprocess.Popen(
        [*S2V, "run", str(image), "--base-url", paced_server.url, "-o", str(tmp_path)],
        env=_env(paced_server, project),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with Client(project.apikey, project.apisecret, paced_server.url) as client:
            deadline = time.monotonic() + 60
            tasks = []
            while time.monotonic() < deadline:
                tasks = client.list_tasks()
                if tasks and tasks[0].status in (TaskStatus.start, TaskStatus.output):
                    break
                time.sleep(0.1)
            assert tasks and tasks[0].status in (TaskStatus.start, TaskStatus.output), tasks
            proc.send_signal(signal.SIGINT)
            _, stderr = proc.communicate(timeout=20)
            assert proc.returncode == 130, stderr
            assert "killed" in stderr
            task = client.detail(tasks[0].id)
            assert task.status is TaskStatus.cancel and task.canceltime is not None
            assert not list(tmp_path.glob("*.mp4"))
    finally:
        if proc.poll() is None:
            proc.kill()
