"""Bad input: each gets the spec's clear error, and the server keeps working."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tests.utils.server import Project, Server


def _error(response, status: int, code: int = 0) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["result"] is False and body["errors"][0]["code"] == code, body
    return body["errors"][0]["message"]


def test_missing_image(server: Server, project: Project) -> None:
    message = _error(server.run(project, json={"prompt": "hello"}), 400)
    assert message == "Request parameter [inputImageFirstUrl] required"


def test_empty_upload_is_named_as_sent(server: Server, project: Project, images: str) -> None:
    """An empty `inputImageFirst` file is refused under its own name, not the URL's; a form's
    unchosen file input (no name, no bytes) is no upload, so the URL beside it is used."""
    files = {"inputImageFirst": ("face.jpg", b"", "image/jpeg")}
    message = _error(server.run(project, data={"prompt": "p"}, files=files), 400)
    assert message == "Request parameter [inputImageFirst] is an empty file"
    unchosen = {"inputImageFirst": ("", b"", "application/octet-stream")}
    body = {"inputImageFirstUrl": f"{images}/face.jpg"}
    answer = server.run(project, data=body, files=unchosen)
    assert answer.status_code == 200 and answer.json()["result"] is True, answer.text


def test_prompt_too_long(server: Server, project: Project, images: str) -> None:
    body = {"inputImageFirstUrl": f"{images}/face.jpg", "prompt": "x" * 2001}
    message = _error(server.run(project, json=body), 400)
    assert "[prompt]" in message and "2000" in message


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/face.jpg",
        "http://10.0.0.1/face.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/face.jpg",
        "http://localhost/face.jpg",
        "http://2130706433/face.jpg",
        "ftp://example.com/face.jpg",
    ],
)
def test_forbidden_urls_refused_at_run(server: Server, project: Project, url: str) -> None:
    message = _error(server.run(project, json={"inputImageFirstUrl": url}), 400)
    assert "[inputImageFirstUrl]" in message


def test_forbidden_callback_refused(server: Server, project: Project, images: str) -> None:
    body = {"inputImageFirstUrl": f"{images}/face.jpg", "callbackUrl": "http://10.1.2.3/hook"}
    assert "[callbackUrl]" in _error(server.run(project, json=body), 400)


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (width, height)).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _failed(server: Server, project: Project, **kwargs) -> str:
    response = server.run(project, **kwargs)
    assert response.status_code == 200, response.text
    task = server.wait(project, response.json()["taskid"])
    assert task["status"] == "task_postprocess_end" and task["pexit"] == "1", task
    assert task["outputs"] == []
    reason = task["debugerror"]
    assert reason and "\n" not in reason and "Traceback" not in reason
    return reason


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/redirect-local", "non-public"),
        ("/text", "not an image"),
        ("/truncated.jpg", "truncated"),
        ("/cat.jpg", "human face"),
        ("/missing.jpg", "404"),
    ],
)
def test_failures_found_later_fail_the_task(
    server: Server, project: Project, images: str, path: str, expected: str
) -> None:
    reason = _failed(server, project, json={"inputImageFirstUrl": f"{images}{path}"})
    assert "[inputImageFirstUrl]" in reason and expected in reason, reason


def test_huge_dimensions_upload(server: Server, project: Project) -> None:
    files = {"inputImageFirst": ("big.png", _png(20000, 20000), "image/png")}
    reason = _failed(server, project, files=files)
    assert "too large" in reason, reason


def test_noise_bytes_upload(server: Server, project: Project) -> None:
    noise = np.random.default_rng(0).integers(0, 255, 5000, dtype=np.uint8).tobytes()
    reason = _failed(server, project, files={"inputImageFirst": ("x.jpg", noise, "image/jpeg")})
    assert "not an image" in reason


def test_wrong_signature_and_unknown_key(server: Server, project: Project, images: str) -> None:
    body = {"inputImageFirstUrl": f"{images}/face.jpg"}
    bad = {"x-signature": "0" * 64}
    message = _error(server.run(project, json=body, headers=bad), 401)
    assert message == "Project authorization is not valid."
    stranger = Project("x", "nokey", None)
    assert _error(server.run(stranger, json=body), 401) == "Project authorization is not founded."
    unsigned = Project(project.name, project.apikey, None)
    assert _error(server.run(unsigned, json=body), 401).startswith(
        "Project requires signature authentication."
    )


def test_other_projects_task_is_not_there(
    server: Server, project: Project, key_only: Project, face: bytes
) -> None:
    run = server.run(project, files={"inputImageFirst": ("f.jpg", face, "image/jpeg")}).json()
    for route in ("Detail", "Kill", "Cancel", "InputOutputDelete"):
        for ref in ({"taskid": run["taskid"]}, {"tasktoken": run["socketaccesstoken"]}):
            response = server.post(f"/v1/Task/{route}", key_only, json=ref)
            assert _error(response, 404, code=1) == "There is no task yet.", route
    missing = server.post("/v1/Task/Detail", project, json={"taskid": "999999"})
    assert _error(missing, 404, code=1) == "There is no task yet."
    # The owner still sees it, and the server still works after all of the above.
    assert server.wait(project, run["taskid"])["pexit"] == "0"
