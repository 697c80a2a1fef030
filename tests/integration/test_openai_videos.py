"""OpenAI's Videos API, from the official `openai` SDK with only base_url changed, over real HTTP.

The server is real (`s2v serve`, its embedded worker, the camera engine); nothing is mocked.
"""

from __future__ import annotations

import base64
import io
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from PIL import Image

from subject2video.media.video import probe, read_audio
from tests.integration.conftest import Recorder
from tests.utils.server import S2V, Project, Server, fixture_server

#: The SDK marks its videos methods deprecated ("The Sora API is scheduled to … shut down"): the
#: warning is OpenAI's hosted service's, and the methods are what clients call.
pytestmark = pytest.mark.filterwarnings("ignore:The Sora API:DeprecationWarning")


@pytest.fixture(scope="module")
def client(server: Server, key_only: Project) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=key_only.apikey, max_retries=0)


def _photo(face: bytes) -> tuple[str, bytes, str]:
    return ("face.jpg", face, "image/jpeg")


def _save(content: Any, path: Path) -> Path:
    content.write_to_file(path)
    return path


def test_sdk_create_poll_retrieve_list_download_remix_delete(
    client: openai.OpenAI, server: Server, key_only: Project, face: bytes, tmp_path: Path
) -> None:
    models = [m.id for m in client.models.list()]
    assert "s2v-1" in models and "s2v-camera" in models
    video = client.videos.create_and_poll(
        model="s2v-1",
        prompt="She smiles [Push in]",
        input_reference=_photo(face),
        seconds="4",
        size="1280x720",
        poll_interval_ms=100,
    )
    assert video.status == "completed", video
    assert (video.progress, video.seconds, video.size, video.model) == (
        100,
        "4",
        "1280x720",
        "s2v-1",
    )
    assert video.id.startswith("video_") and video.completed_at and video.error is None

    info = probe(_save(client.videos.download_content(video.id), tmp_path / "v.mp4"))
    assert (info.frames, info.width, info.height, info.fps) == (100, 1280, 720, 25)
    thumb = client.videos.download_content(video.id, variant="thumbnail")
    assert Image.open(io.BytesIO(thumb.content)).size == (1280, 720)
    sheet = client.videos.download_content(video.id, variant="spritesheet")
    assert Image.open(io.BytesIO(sheet.content)).format == "JPEG"

    again = client.videos.retrieve(video.id)
    assert again.id == video.id and again.status == "completed"

    remix = client.videos.remix(video.id, prompt="She turns her head to the left")
    assert remix.remixed_from_video_id == video.id and remix.status in ("queued", "in_progress")
    remix = client.videos.poll(remix.id, poll_interval_ms=100)
    assert remix.status == "completed" and (remix.seconds, remix.size) == ("4", "1280x720")

    listed = [v.id for v in client.videos.list(limit=1)]  # pages through, one at a time
    assert listed[:2] == [remix.id, video.id]
    ascending = [v.id for v in client.videos.list(order="asc")]
    assert ascending.index(video.id) < ascending.index(remix.id)

    deleted = client.videos.delete(remix.id)
    assert (deleted.id, deleted.deleted, deleted.object) == (remix.id, True, "video.deleted")
    with pytest.raises(openai.NotFoundError):
        client.videos.download_content(remix.id)
    # Deleted is gone, as OpenAI's API answers it: 404, out of the list, not deleted twice.
    with pytest.raises(openai.NotFoundError):
        client.videos.retrieve(remix.id)
    with pytest.raises(openai.NotFoundError):
        client.videos.delete(remix.id)
    with pytest.raises(openai.NotFoundError):
        client.videos.remix(remix.id, prompt="again")
    assert remix.id not in [v.id for v in client.videos.list()]
    assert video.id in [v.id for v in client.videos.list()]
    # Wiro's Detail still shows the task, its outputs deleted as InputOutputDelete deletes them.
    taskid = remix.id.removeprefix("video_")
    detail = server.post("/v1/Task/Detail", key_only, json={"taskid": taskid})
    assert detail.status_code == 200, detail.text
    task = detail.json()["tasklist"][0]
    assert (task["status"], task["pexit"], task["outputs"]) == ("task_postprocess_end", "0", [])


@pytest.mark.parametrize(
    ("seconds", "size"),
    [("8", "1920x1080"), ("10", "1080x1920"), ("12", "720x1280"), ("2", "480x854")],
)
def test_lengths_and_sizes_decode_exactly(
    client: openai.OpenAI, face: bytes, tmp_path: Path, seconds: str, size: str
) -> None:
    video = client.videos.create_and_poll(
        prompt="a gentle smile",
        input_reference=_photo(face),
        seconds=seconds,  # type: ignore[arg-type]
        size=size,  # type: ignore[arg-type]
        poll_interval_ms=100,
    )
    assert video.status == "completed", video.error
    info = probe(_save(client.videos.download_content(video.id), tmp_path / "v.mp4"))
    width, height = (int(x) for x in size.split("x"))
    assert (info.frames, info.width, info.height) == (int(seconds) * 25, width, height)
    assert abs(info.duration - int(seconds)) < 0.05


def test_sdk_downloads_a_speaking_video_whose_audio_decodes(
    client: openai.OpenAI, face: bytes, tmp_path: Path
) -> None:
    """A quoted line in the prompt, the voice as an extension field (`extra_body`), the length
    the caller asked for: the download has an AAC track as long as the video."""
    video = client.videos.create_and_poll(
        prompt='She smiles and says: "Hello, and welcome to the show."',
        input_reference=_photo(face),
        seconds="8",  # type: ignore[arg-type]
        extra_body={"voice": "male"},
        poll_interval_ms=100,
    )
    assert video.status == "completed", video.error
    path = _save(client.videos.download_content(video.id), tmp_path / "v.mp4")
    info = probe(path)
    assert info.frames == 200 and info.audio_codec == "aac"
    assert abs(info.audio_duration - info.duration) <= 0.1
    audio = read_audio(path)
    assert audio is not None and audio.peak_dbfs() > -30


def test_without_seconds_a_spoken_video_lasts_as_its_speech(
    client: openai.OpenAI, face: bytes, tmp_path: Path
) -> None:
    """No `seconds`: the video lasts as long as the line plus a short rest (2-12 s), not the
    silent default of 4 s, and `seconds` on the wire says the length the MP4 has."""
    video = client.videos.create_and_poll(
        prompt='He says: "Thank you all for coming tonight, it has been a wonderful year for us."',
        input_reference=_photo(face),
        poll_interval_ms=100,
    )
    assert video.status == "completed", video.error
    path = _save(client.videos.download_content(video.id), tmp_path / "v.mp4")
    info = probe(path)
    assert 4.5 < info.duration <= 12.0, info  # the line takes about 5 s to say; 4 s would cut it
    assert abs(float(video.seconds) - info.duration) < 0.05, (video.seconds, info.duration)
    assert client.videos.retrieve(video.id).seconds == video.seconds
    assert info.audio_codec == "aac" and abs(info.audio_duration - info.duration) <= 0.1
    audio = read_audio(path)
    assert audio is not None and audio.peak_dbfs() > -30


@pytest.mark.parametrize("how", ["url", "data"])
def test_json_image_url_reference_and_default_size(
    server: Server,
    key_only: Project,
    client: openai.OpenAI,
    images: str,
    face: bytes,
    tmp_path: Path,
    how: str,
) -> None:
    """JSON with `input_reference: {"image_url": ...}`, as OpenAI's REST reference shows it (this
    SDK version sends uploads only); a URL or a base64 data URL."""
    url = f"{images}/face.jpg"
    if how == "data":
        url = "data:image/jpeg;base64," + base64.b64encode(face).decode()
    answer = httpx.post(
        f"{server.url}/v1/videos",
        json={"prompt": "she nods", "input_reference": {"image_url": url}},
        headers={"Authorization": f"Bearer {key_only.apikey}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    video = client.videos.poll(answer.json()["id"], poll_interval_ms=100)
    assert video.status == "completed", video.error
    assert video.seconds == "4" and video.size == "720x720"  # the photo's own aspect
    info = probe(_save(client.videos.download_content(video.id), tmp_path / "v.mp4"))
    assert (info.frames, info.width, info.height) == (100, 720, 720)


def _error(raised: pytest.ExceptionInfo[openai.APIStatusError]) -> dict[str, Any]:
    body = raised.value.response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


@pytest.mark.parametrize(
    ("kwargs", "param", "words"),
    [
        ({"model": "sora-2"}, "model", "s2v-1"),
        ({"seconds": "13"}, "seconds", "from 2 to 12"),
        ({"seconds": "four"}, "seconds", "whole number"),
        ({"size": "1792x1024x2"}, "size", "WIDTHxHEIGHT"),
        ({"size": "3840x2160"}, "size", "short side"),
        (
            {"input_reference": ("a.txt", b"hello, not an image", "text/plain")},
            "input_reference",
            "",
        ),
        ({"input_reference": None}, "input_reference", "photo"),
    ],
)
def test_bad_input_gets_openai_errors(
    client: openai.OpenAI, face: bytes, kwargs: dict[str, Any], param: str, words: str
) -> None:
    args: dict[str, Any] = {"prompt": "smile", "input_reference": _photo(face), **kwargs}
    if args["input_reference"] is None:
        del args["input_reference"]
    with pytest.raises(openai.BadRequestError) as raised:
        client.videos.create(**args)
    error = _error(raised)
    assert error["param"] == param and error["type"] == "invalid_request_error", error
    assert words in error["message"], error


def test_bad_auth_and_unknown_ids(server: Server, client: openai.OpenAI) -> None:
    wrong = openai.OpenAI(base_url=f"{server.url}/v1", api_key="not-a-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as raised:
        wrong.videos.list()
    assert _error(raised)["code"] == "invalid_api_key"
    answer = httpx.get(f"{server.url}/v1/videos", timeout=10)
    assert answer.status_code == 401 and "API key" in answer.json()["error"]["message"]
    for missing in ("video_999999", "nonsense"):
        with pytest.raises(openai.NotFoundError):
            client.videos.retrieve(missing)
    with pytest.raises(openai.BadRequestError):
        client.videos.list(limit=500)


def test_one_task_model_under_three_dialects(server: Server, project: Project, face: bytes) -> None:
    """A Wiro task is an OpenAI video and a MiniMax task; an OpenAI video is a Wiro task."""
    sdk = openai.OpenAI(base_url=f"{server.url}/v1", api_key=project.apikey, max_retries=0)
    answer = server.run(project, files={"inputImageFirst": ("f.jpg", face, "image/jpeg")})
    taskid = answer.json()["taskid"]
    server.wait(project, taskid)
    video = sdk.videos.retrieve(f"video_{taskid}")
    assert (video.status, video.seconds, video.model) == ("completed", "6", "s2v-1")
    bearer = {"Authorization": f"Bearer {project.apikey}"}
    query = httpx.get(
        f"{server.url}/v1/query/video_generation", params={"task_id": taskid}, headers=bearer
    ).json()
    assert query["status"] == "Success" and (query["video_width"], query["video_height"]) == (
        720,
        720,
    )

    made = sdk.videos.create(
        prompt="smile", input_reference=_photo(face), seconds="4", size="1280x720"
    )
    task = server.wait(project, made.id.removeprefix("video_"))
    assert task["status"] == "task_postprocess_end" and task["pexit"] == "0"
    assert task["parameters"]["seconds"] == 4 and task["parameters"]["model"] == "s2v-1"
    assert "framing: cropped 512x512 to 512x288 around the face" in task["debugoutput"]


def test_delete_kills_a_running_video_and_wiro_sees_it(paced_server: Server, face: bytes) -> None:
    project = paced_server.keys("openai-kill", key_only=True)
    sdk = openai.OpenAI(base_url=f"{paced_server.url}/v1", api_key=project.apikey, max_retries=0)
    video = sdk.videos.create(prompt="smile", input_reference=_photo(face), seconds="12")
    taskid = video.id.removeprefix("video_")
    paced_server.wait(project, taskid, until=lambda t: t["status"] == "task_start")
    assert sdk.videos.retrieve(video.id).status == "in_progress"
    assert sdk.videos.delete(video.id).deleted
    task = paced_server.wait(project, taskid)
    assert task["status"] == "task_cancel" and task["outputs"] == []
    with pytest.raises(openai.NotFoundError):  # deleted: gone from OpenAI's dialect
        sdk.videos.retrieve(video.id)

    # The other way round: Wiro's Task/Kill ends an OpenAI video; OpenAI's DELETE a MiniMax task.
    second = sdk.videos.create(prompt="smile", input_reference=_photo(face), seconds="12")
    taskid = second.id.removeprefix("video_")
    paced_server.wait(project, taskid, until=lambda t: t["status"] == "task_start")
    killed = paced_server.post("/v1/Task/Kill", project, json={"taskid": taskid})
    assert killed.status_code == 200, killed.text
    assert sdk.videos.retrieve(second.id).status == "failed"
    bearer = {"Authorization": f"Bearer {project.apikey}"}
    body = {
        "model": "I2V-01",
        "prompt": "smile",
        "first_frame_image": "data:image/jpeg;base64," + base64.b64encode(face).decode(),
    }
    made = httpx.post(
        f"{paced_server.url}/v1/video_generation", json=body, headers=bearer, timeout=30
    ).json()
    minimax_id = made["task_id"]
    assert made["base_resp"]["status_code"] == 0, made
    paced_server.wait(project, minimax_id, until=lambda t: t["status"] == "task_start")
    assert sdk.videos.delete(f"video_{minimax_id}").deleted
    query = httpx.get(
        f"{paced_server.url}/v1/query/video_generation",
        params={"task_id": minimax_id},
        headers=bearer,
        timeout=30,
    ).json()
    assert query["status"] == "Fail", query


@pytest.fixture
def receiver() -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder()
    with fixture_server({"/hook": recorder}) as url:
        yield f"{url}/hook", recorder


def test_webhooks_are_signed_openai_events(
    server: Server, face: bytes, receiver: tuple[str, Recorder]
) -> None:
    url, recorder = receiver
    args = [*S2V, "keys", "create", "--name", "hooked", "--key-only", "--json"]
    args += ["--webhook-url", url, "--data-dir", str(server.data_dir)]
    made = json.loads(
        subprocess.run(args, env=server._env(), check=True, capture_output=True, text=True).stdout
    )
    secret = made["webhook_secret"]
    assert secret.startswith("whsec_")
    sdk = openai.OpenAI(
        base_url=f"{server.url}/v1", api_key=made["apikey"], webhook_secret=secret, max_retries=0
    )
    good = sdk.videos.create_and_poll(
        prompt="smile", input_reference=_photo(face), seconds="2", poll_interval_ms=100
    )
    assert good.status == "completed"
    deadline = time.monotonic() + 20
    while not recorder.calls and time.monotonic() < deadline:
        time.sleep(0.1)
    assert recorder.calls, server.log()
    headers, body = recorder.calls[0]
    event = sdk.webhooks.unwrap(body, headers)  # checks the signature, as OpenAI's users do
    assert event.type == "video.completed" and event.data.id == good.id
    with pytest.raises(openai.InvalidWebhookSignatureError):
        sdk.webhooks.unwrap(body, headers, secret="whsec_" + "A" * 32)
