"""S3 storage against a real S3-compatible server process (moto in server mode), not a mock client.

Inputs and outputs go to s3://bucket/prefix; output URLs stay ours, and the file route answers
with a 307 to a presigned URL, or proxies the object with HTTP Range (S2V_S3_PRESIGN=false).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest

from tests.utils.server import Project, Server, free_port, terminate

pytestmark = pytest.mark.slow

BUCKET = "s2v-test"
AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto S3 server on loopback with an empty bucket."""
    pytest.importorskip("moto.server", reason="moto[server] is a test dependency")
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(endpoint, timeout=1)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"moto server did not start: {log.read_text()}") from None
            time.sleep(0.1)
    client = boto3.client("s3", endpoint_url=endpoint, **_creds())
    client.create_bucket(Bucket=BUCKET)
    yield endpoint
    terminate(proc)


def _creds() -> dict[str, str]:
    return {
        "aws_access_key_id": AWS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": AWS["AWS_SECRET_ACCESS_KEY"],
        "region_name": AWS["AWS_DEFAULT_REGION"],
    }


def _server(data_dir: Path, endpoint: str, **extra: str) -> Server:
    env = {
        "S2V_ENGINE": "camera",
        "S2V_STORAGE_URL": f"s3://{BUCKET}/deploy",
        "S2V_S3_ENDPOINT_URL": endpoint,
        **AWS,
        **extra,
    }
    return Server(data_dir, env=env)


def test_outputs_and_inputs_live_in_s3(s3_endpoint: str, tmp_path: Path, face: bytes) -> None:
    srv = _server(tmp_path / "s3", s3_endpoint).start()
    try:
        project: Project = srv.keys("s3", key_only=True)
        files = {"inputImageFirst": ("face.jpg", face, "image/jpeg")}
        run = srv.run(project, files=files, data={"prompt": "She smiles"}).json()
        task = srv.wait(project, run["taskid"], timeout=120)
        assert (task["status"], task["pexit"]) == ("task_postprocess_end", "0"), task["debugerror"]
        url = task["outputs"][0]["url"]
        assert url.startswith(f"{srv.url}/v1/File/")  # our URL, our accesskey check
        keys = {
            o["Key"]
            for o in boto3.client("s3", endpoint_url=s3_endpoint, **_creds())
            .list_objects_v2(Bucket=BUCKET)
            .get("Contents", [])
        }
        assert any(k.startswith("deploy/outputs/") and k.endswith("/0.mp4") for k in keys)
        assert any(k.startswith("deploy/inputs/") for k in keys)
        redirect = httpx.get(url, timeout=10)
        assert redirect.status_code == 307
        assert redirect.headers["location"].startswith(f"{s3_endpoint}/{BUCKET}/deploy/outputs/")
        video = httpx.get(url, timeout=10, follow_redirects=True)
        assert video.status_code == 200 and video.content[4:8] == b"ftyp"
        assert httpx.get(url.replace(url.split("/")[-2], "wrongkey"), timeout=10).status_code == 404
    finally:
        srv.stop()

    proxy = _server(tmp_path / "s3", s3_endpoint, S2V_S3_PRESIGN="false").start()
    try:
        url = url.replace(srv.url, proxy.url)
        whole = httpx.get(url, timeout=10)
        assert whole.status_code == 200 and whole.content == video.content
        part = httpx.get(url, headers={"Range": "bytes=0-99"}, timeout=10)
        assert part.status_code == 206 and part.content == video.content[:100]
        assert part.headers["content-range"] == f"bytes 0-99/{len(video.content)}"
    finally:
        proxy.stop()
