"""MiniMax image-to-video from MiniMax's own sample client, over real HTTP against a real server."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import pytest

from subject2video.media.video import probe
from tests.integration import minimax_sample
from tests.utils.server import Project, Server


@pytest.fixture
def sample(server: Server, key_only: Project, tmp_path: Path) -> Any:
    minimax_sample.BASE_URL = server.url
    minimax_sample.api_key = key_only.apikey
    minimax_sample.output_file_name = str(tmp_path / "output.mp4")
    minimax_sample.poll_seconds = 0.2
    return minimax_sample


@pytest.mark.parametrize(
    ("model", "extra", "frames", "short_side"),
    [
        ("I2V-01-Director", {}, 150, 720),
        ("MiniMax-Hailuo-02", {"duration": 10, "resolution": "768P"}, 250, 768),
        ("MiniMax-Hailuo-2.3", {"duration": 6, "resolution": "1080P"}, 150, 1080),
    ],
)
def test_sample_makes_polls_retrieves_and_downloads(
    sample: Any, images: str, model: str, extra: dict[str, Any], frames: int, short_side: int
) -> None:
    status = sample.main(
        "[Pan left, Pedestal up] she smiles [Push in]", model, f"{images}/face.jpg", **extra
    )
    assert status == "Finished"
    info = probe(Path(sample.output_file_name))
    assert (info.frames, min(info.width, info.height)) == (frames, short_side)


def test_data_uri_first_frame(sample: Any, face: bytes) -> None:
    uri = "data:image/jpeg;base64," + base64.b64encode(face).decode()
    assert sample.main("she nods", "I2V-01", uri) == "Finished"
    assert probe(Path(sample.output_file_name)).frames == 150


def _post(server: Server, project: Project, body: dict[str, Any]) -> dict[str, Any]:
    answer = httpx.post(
        f"{server.url}/v1/video_generation",
        json=body,
        headers={"Authorization": f"Bearer {project.apikey}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["base_resp"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"model": "MiniMax-Hailuo-02", "duration": 10, "resolution": "1080P"}, "resolution"),
        ({"model": "I2V-01", "duration": 10}, "duration"),
        ({"model": "MiniMax-Hailuo-2.3", "resolution": "512P"}, "resolution"),
        ({"model": "T2V-01"}, "animates a person's photo"),
        ({"model": "MiniMax-Hailuo-02", "first_frame_image": None}, "animates a person's photo"),
        ({"model": "video-01"}, "served models"),
    ],
)
def test_refusals_in_minimax_shape(
    server: Server, key_only: Project, images: str, body: dict[str, Any], words: str
) -> None:
    base = {"prompt": "smile", "first_frame_image": f"{images}/face.jpg", **body}
    answer = _post(server, key_only, base)
    assert answer["status_code"] == 2013 and words in answer["status_msg"], answer


@pytest.mark.parametrize(
    ("body", "name"),
    [
        ({"model": "I2V-01", "first_frame_image": "http://127.0.0.1:9/a.jpg"}, "first_frame_image"),
        ({"model": "I2V-01", "first_frame_image": "ftp://example.com/a.jpg"}, "first_frame_image"),
        (
            {
                "model": "S2V-01",
                "subject_reference": [{"type": "character", "image": ["http://10.0.0.1/a.jpg"]}],
            },
            "subject_reference",
        ),
        ({"model": "I2V-01", "callback_url": "http://169.254.169.254/latest"}, "callback_url"),
    ],
)
def test_errors_name_the_field_as_sent(
    server: Server, key_only: Project, images: str, body: dict[str, Any], name: str
) -> None:
    answer = _post(
        server, key_only, {"prompt": "smile", "first_frame_image": f"{images}/face.jpg", **body}
    )
    message = answer["status_msg"]
    assert answer["status_code"] == 2013 and name in message, answer
    assert "inputImageFirst" not in message and "callbackUrl" not in message, answer


def test_wrong_image_type_is_1026(server: Server, key_only: Project) -> None:
    uri = "data:image/png;base64," + base64.b64encode(b"not a picture at all").decode()
    answer = _post(server, key_only, {"model": "I2V-01", "first_frame_image": uri})
    assert answer["status_code"] == 1026, answer
