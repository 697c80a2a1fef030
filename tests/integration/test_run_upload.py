"""Run with a real multipart upload, the other body forms, and the output file."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx

from tests.utils.images import face_jpeg
from tests.utils.server import SLUG, Project, Server
from tests.utils.video import assert_contract_video


def test_curl_multipart_upload(server: Server, project: Project, tmp_path: Path) -> None:
    image = tmp_path / "face.jpg"
    image.write_bytes(face_jpeg(size=(640, 480)))
    headers = [arg for k, v in project.headers().items() for arg in ("-H", f"{k}: {v}")]
    out = subprocess.run(
        [
            "curl",
            "-s",
            "-X",
            "POST",
            f"{server.url}/v1/Run/{SLUG}",
            *headers,
            "-F",
            f"inputImageFirst=@{image}",
            "-F",
            "prompt=She smiles",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    run = httpx.Response(200, content=out.stdout).json()
    assert run["result"] is True, run
    task = server.wait(project, run["taskid"])
    assert task["pexit"] == "0", task["debugerror"]
    assert task["parameters"]["inputImageFirst"] == "face.jpg"
    assert task["parameters"]["prompt"] == "She smiles"
    video = tmp_path / "out.mp4"
    video.write_bytes(httpx.get(task["outputs"][0]["url"], timeout=30).content)
    assert_contract_video(video, aspect=640 / 480)


def test_url_in_form_and_json_and_urlencoded(
    server: Server, key_only: Project, images: str
) -> None:
    url = f"{images}/face.jpg"
    forms = [
        {"json": {"inputImageFirstUrl": url, "prompt": ""}},
        {"data": {"inputImageUrl": url}},
        {"files": {"inputImageFirst": (None, url)}},
    ]
    for kwargs in forms:
        response = server.run(key_only, **kwargs)
        assert response.status_code == 200, (kwargs, response.text)
        task = server.wait(key_only, response.json()["taskid"])
        assert task["pexit"] == "0", (kwargs, task["debugerror"])


def test_output_range_requests_and_accesskey(server: Server, project: Project, face: bytes) -> None:
    run = server.run(project, files={"inputImageFirst": ("f.jpg", face, "image/jpeg")}).json()
    task = server.wait(project, run["taskid"])
    output = task["outputs"][0]
    whole = httpx.get(output["url"], timeout=30)
    assert whole.headers["accept-ranges"] == "bytes"
    part = httpx.get(output["url"], headers={"Range": "bytes=100-199"}, timeout=30)
    assert part.status_code == 206
    assert part.content == whole.content[100:200]
    wrong = output["url"].replace(output["accesskey"], "x" * 30)
    assert httpx.get(wrong, timeout=30).status_code == 404


def test_unknown_slug_and_path(server: Server, project: Project, images: str) -> None:
    response = server.post("/v1/Run/Someone/else", project, json={"inputImageFirstUrl": images})
    assert response.status_code == 404
    assert response.json() == {
        "result": False,
        "errors": [{"code": 1, "message": "slug-owner-project-not-exist"}],
    }
    response = server.post("/v1/Nope", project)
    assert response.status_code == 404
    assert response.json()["errors"][0]["message"] == "Error parsing url."
    # Slugs match whatever their case.
    response = server.post(
        "/v1/Run/minimax/IMAGE-TO-VIDEO-HAILUO-01-SUBJECT",
        project,
        json={"inputImageFirstUrl": f"{images}/face.jpg"},
    )
    assert response.status_code == 200, response.text


def test_list_tool_and_delete(server: Server, key_only: Project, images: str) -> None:
    ids = [
        server.run(key_only, json={"inputImageFirstUrl": f"{images}/face.jpg"}).json()["taskid"]
        for _ in range(2)
    ]
    for taskid in ids:
        server.wait(key_only, taskid)
    listed = server.post("/v1/Task/List", key_only, json={"limit": 2}).json()
    assert [t["id"] for t in listed["tasklist"]] == sorted(ids, key=int, reverse=True)
    assert int(listed["total"]) >= 2
    tool = server.post(
        "/v1/Tool/Detail",
        key_only,
        json={"slugowner": "MiniMax", "slugproject": "image-to-video-hailuo-01-subject"},
    ).json()
    names = [p["name"] for p in tool["tool"][0]["parameters"]]
    assert {"inputImageFirstUrl", "prompt", "callbackUrl"} <= set(names)

    task = server.detail(key_only, ids[0])
    url = task["outputs"][0]["url"]
    assert httpx.get(url, timeout=30).status_code == 200
    for _ in range(2):  # idempotent
        deleted = server.post("/v1/Task/InputOutputDelete", key_only, json={"taskid": ids[0]})
        assert deleted.status_code == 200, deleted.text
        assert deleted.json()["tasklist"][0]["outputs"] == []
    assert httpx.get(url, timeout=30).status_code == 404


def test_health_ready_metrics_docs(server: Server) -> None:
    assert httpx.get(f"{server.url}/healthz").status_code == 200
    assert httpx.get(f"{server.url}/readyz").status_code == 200
    metrics = httpx.get(f"{server.url}/metrics").text
    assert 's2v_tasks{status="task_queue"}' in metrics
    assert "s2v_queue_depth" in metrics
    assert "s2v_task_duration_seconds_bucket" in metrics
    assert httpx.get(f"{server.url}/docs").status_code == 200
    assert "/v1/Task/Detail" in httpx.get(f"{server.url}/openapi.json").text
