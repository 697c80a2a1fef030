"""The hosted model's own curl sequence (shared/seeds), verbatim but for the three URLs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx

from tests.utils.server import FINAL, Project, Server
from tests.utils.video import assert_contract_video

SEED_SCRIPT = Path(__file__).with_name("seed_sequence.sh")


def test_seed_curl_sequence(server: Server, project: Project, images: str, tmp_path: Path) -> None:
    env = {
        "KEY": project.apikey,
        "SECRET": project.apisecret or "",
        "BASE": server.url,
        "IMAGE": f"{images}/face.jpg",
        "CALLBACK": f"{images}/callback-sink",
        "PATH": "/usr/bin:/bin",
    }
    subprocess.run(["bash", str(SEED_SCRIPT)], cwd=tmp_path, env=env, check=True, timeout=180)
    # OpenSSL 3 prints "SHA2-256(stdin)= <hex>": the server took that form as it is.
    assert (tmp_path / "signature.txt").read_text().startswith(("SHA2-256(stdin)= ", "(stdin)= "))

    run = json.loads((tmp_path / "run.json").read_text())
    assert run["result"] is True and run["errors"] == []
    assert run["taskid"].isdigit()
    assert len(run["socketaccesstoken"]) == 30 and run["socketaccesstoken"].isalnum()

    by_id = json.loads((tmp_path / "detail-id.json").read_text())
    by_token = json.loads((tmp_path / "detail-token.json").read_text())
    assert by_id["result"] and by_id["total"] == "1"
    task = by_id["tasklist"][0]
    assert task["status"] == "task_postprocess_end", task
    assert task["pexit"] == "0", task["debugerror"]
    assert by_token["tasklist"][0]["id"] == task["id"]
    assert task["status"] in FINAL
    for name in ("createtime", "accepttime", "starttime", "endtime", "postprocessendtime"):
        assert task[name].isdigit() and int(task[name]) > 0, name
    assert task["canceltime"] == "0"
    assert all(
        isinstance(v, str)
        for k, v in task.items()
        if k not in ("parameters", "outputs", "progress")
    )
    assert task["parameters"]["inputImageFirstUrl"] == f"{images}/face.jpg"

    [output] = task["outputs"]
    assert output["contenttype"] == "video/mp4" and output["name"] == "0.mp4"
    assert len(output["id"]) == 32
    video = tmp_path / "out.mp4"
    with httpx.stream("GET", output["url"], timeout=30) as response:
        assert response.status_code == 200
        video.write_bytes(response.read())
    assert str(video.stat().st_size) == output["size"]
    assert_contract_video(video, aspect=1.0)
