"""Wire compatibility: what the client sends passes a strict check written from the spec."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
from pathlib import Path

import httpx
import pytest

from subject2video.client import AsyncClient, AuthenticationError, Client
from tests.utils.strict_wire import SLUG_PATH, TOKEN, strict_wire

KEY, SECRET = "AbCdEfGhIjKlMnOpQrStUvWxYz012345", "s3cr3t-Secret-0123456789abcdef"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def _calls(client: Client, image: Path) -> None:
    client.run(image=image, prompt="She smiles", callback_url="https://hooks.example/x", seed=3)
    client.run(image=JPEG)
    client.run(image="https://images.example/face.jpg", prompt="He nods")
    task = client.detail(2221)
    client.detail(TOKEN)
    client.cancel(task)
    client.kill(TOKEN)
    client.delete_io(2221)
    client.list_tasks(start=0, limit=5, order="desc", status=["task_queue", "task_start"])
    client.tool_detail()


@pytest.mark.parametrize("secret", [SECRET, None], ids=["signature", "key-only"])
def test_sync_client_passes_the_strict_check(secret: str | None, tmp_path: Path) -> None:
    image = tmp_path / "face.jpg"
    image.write_bytes(JPEG)
    with strict_wire(KEY, secret) as (url, wire), Client(KEY, secret, url) as client:
        _calls(client, image)
    assert wire.violations == []
    assert len(wire.requests) == 10
    runs = [r for r in wire.requests if r.path == SLUG_PATH]
    assert runs[0].fields == {
        "prompt": "She smiles",
        "callbackUrl": "https://hooks.example/x",
        "seed": "3",
    }
    assert runs[0].files["inputImageFirst"].startswith("face.jpg:image/jpeg:")
    assert runs[1].files["inputImageFirst"].startswith("image.jpg:image/jpeg:")
    assert runs[2].fields["inputImageFirstUrl"] == "https://images.example/face.jpg"
    assert [r.fields for r in wire.requests[4:6]] == [{"tasktoken": TOKEN}, {"taskid": "2221"}]
    if secret:
        nonces = [int(r.headers["x-nonce"]) for r in wire.requests]
        assert all(a < b for a, b in itertools.pairwise(nonces))


def test_async_client_passes_the_strict_check_in_parallel() -> None:
    async def main(url: str) -> None:
        async with AsyncClient(KEY, SECRET, url) as client:
            await client.run(image="https://images.example/face.jpg")
            await asyncio.gather(*(client.detail(2221) for _ in range(30)))
            await client.kill(2221)
            await client.list_tasks()
            await client.tool_detail()

    with strict_wire(KEY, SECRET) as (url, wire):
        asyncio.run(main(url))
    assert wire.violations == []
    assert len(wire.nonces) == len(wire.requests) == 34


def test_the_check_refuses_a_wrong_signature_formula() -> None:
    """The check is not vacuous: the formula a published client used is refused."""
    nonce = "1734513807000"
    wrong = hmac.new(SECRET.encode(), (nonce + KEY).encode(), hashlib.sha256).hexdigest()
    headers = {"x-api-key": KEY, "x-nonce": nonce, "x-signature": wrong}
    with strict_wire(KEY, SECRET) as (url, wire):
        response = httpx.post(f"{url}/v1/Task/Detail", json={"taskid": "1"}, headers=headers)
        with Client(KEY, "not-the-secret", url) as client, pytest.raises(AuthenticationError):
            client.detail(1)
    assert response.status_code == 401
    assert len(wire.violations) == 2 and "x-signature" in wire.violations[0]
