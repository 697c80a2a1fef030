"""What the playground needs from the server: the page and its assets, and Face/Detect (ours)."""

from __future__ import annotations

import httpx

from tests.utils.server import Project, Server


def _detect(server: Server, project: Project, **kwargs: object) -> httpx.Response:
    return server.post("/v1/Face/Detect", project, **kwargs)


def test_page_and_assets_are_served(server: Server) -> None:
    page = httpx.get(f"{server.url}/", timeout=10)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/web/app.js">' in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    for name, kind in [("app.js", "javascript"), ("style.css", "text/css"), ("hmac.js", "java")]:
        asset = httpx.get(f"{server.url}/web/{name}", timeout=10)
        assert asset.status_code == 200 and kind in asset.headers["content-type"], name
    missing = httpx.get(f"{server.url}/web/nothing.js", timeout=10)
    assert missing.status_code == 404


def test_detect_finds_the_face_in_an_upload(server: Server, project: Project, face: bytes) -> None:
    response = _detect(server, project, files={"inputImageFirst": ("face.jpg", face)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["result"] is True and body["errors"] == []
    assert (body["width"], body["height"]) == (512, 512)
    assert len(body["faces"]) == 1
    left, top, right, bottom = body["faces"][0]["box"]
    assert 0 <= left < right <= 512 and 0 <= top < bottom <= 512
    assert 150 < (left + right) / 2 < 300 and 50 < (top + bottom) / 2 < 200  # her face


def test_detect_without_a_face_is_an_answer(server: Server, key_only: Project, images: str) -> None:
    response = _detect(server, key_only, json={"inputImageFirstUrl": f"{images}/cat.jpg"})
    assert response.status_code == 200, response.text
    assert response.json()["faces"] == []


def test_detect_refuses_what_a_task_would(server: Server, project: Project, images: str) -> None:
    cases = [
        ({"json": {}}, "[inputImageFirstUrl] required"),
        ({"json": {"inputImageFirstUrl": f"{images}/text"}}, "inputImageFirstUrl"),
        ({"json": {"inputImageFirstUrl": "http://127.0.0.1:9/x.jpg"}}, "non-public"),
        ({"json": {"inputImageFirstUrl": "file:///etc/passwd"}}, "http or https"),
        ({"files": {"inputImageFirst": ("x.jpg", b"not an image")}}, "inputImageFirstUrl"),
    ]
    for kwargs, message in cases:
        response = _detect(server, project, **kwargs)
        assert response.status_code == 400, (kwargs, response.text)
        body = response.json()
        assert body["result"] is False and message in body["errors"][0]["message"], body


def test_detect_needs_a_key(server: Server, face: bytes) -> None:
    response = httpx.post(
        f"{server.url}/v1/Face/Detect", files={"inputImageFirst": ("f.jpg", face)}, timeout=10
    )
    assert response.status_code == 401
