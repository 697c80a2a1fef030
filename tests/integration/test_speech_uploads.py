"""A voice recording given as a FILE, in every dialect, through a real server and its worker: a
Wiro multipart part `inputAudio`, an OpenAI multipart part `audio`, a MiniMax data URI in
`audio_url`, a Replicate file (Files API) or data URI in `audio`. A good one gives an MP4 whose
audio decodes and whose length follows the voice where no length was asked; a bad one (not
audio, silent, too long, truncated, a sample rate outside 8-96 kHz) is refused at the door (4xx or
the dialect's error code), naming the input as that dialect spells it."""

from __future__ import annotations

import base64
import io
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from subject2video.media.speaking import speech_for
from subject2video.media.video import probe, read_audio
from tests.utils.images import face_jpeg
from tests.utils.server import Project, Server, fixture_server, send

pytestmark = pytest.mark.slow


def _wav(samples: np.ndarray, rate: int) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return out.getvalue()


@pytest.fixture(scope="module")
def voice() -> tuple[bytes, float]:
    """A flite line as a WAV file, and its length in seconds."""
    speech, _ = speech_for('He says "Thank you for watching, and see you again next week."', "male")
    assert speech is not None
    return _wav(speech.audio.samples, speech.audio.rate), speech.audio.seconds


#: Bad files, and a word their refusal must hold.
BAD: dict[str, tuple[bytes, str]] = {
    "not audio": (face_jpeg(), "send WAV"),
    "silent": (_wav(np.zeros(16000 * 2, np.float32), 16000), "silent"),
    "too long": (_wav(0.3 * np.sin(np.arange(16000 * 14) / 5.0), 16000), "12 s"),
    "rate": (_wav(0.3 * np.sin(np.arange(4000 * 2) / 3.0), 4000), "sample rate"),
}


def _truncated(voice: bytes) -> bytes:
    return voice[: len(voice) // 2]


def _data_uri(data: bytes) -> str:
    return "data:audio/wav;base64," + base64.b64encode(data).decode()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("speech-uploads"))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def project(server: Server) -> Project:
    return server.keys("speech-uploads")


def _bearer(project: Project) -> dict[str, str]:
    return {"Authorization": f"Bearer {project.apikey}"}


def _check_video(url: str, tmp_path: Path, seconds: float | None) -> None:
    path = tmp_path / "v.mp4"
    path.write_bytes(httpx.get(url, timeout=30).content)
    info = probe(path)
    assert info.audio_codec == "aac" and abs(info.audio_duration - info.duration) <= 0.1
    if seconds is not None:  # the length followed the voice: its length plus a short rest
        assert seconds < info.duration <= seconds + 1.0, (seconds, info.duration)
    audio = read_audio(path)
    assert audio is not None and audio.peak_dbfs() > -30


def test_wiro_multipart_audio_file(
    server: Server, project: Project, voice: tuple[bytes, float], tmp_path: Path
) -> None:
    files = {
        "inputImageFirst": ("face.jpg", face_jpeg(), "image/jpeg"),
        "inputAudio": ("voice.wav", voice[0], "audio/wav"),
    }
    response = server.run(project, files=files, data={"prompt": "She smiles"})
    assert response.status_code == 200, response.text
    task = server.wait(project, response.json()["taskid"], timeout=240)
    assert task["pexit"] == "0", task["debugerror"]
    assert "uploaded inputAudio," in task["debugoutput"]
    _check_video(task["outputs"][0]["url"], tmp_path, None)  # Wiro's Run stays 6.0 s
    for name, (data, word) in BAD.items():
        files["inputAudio"] = ("bad.wav", data, "audio/wav")
        refused = server.run(project, files=files, data={"prompt": "She smiles"})
        assert refused.status_code == 400, (name, refused.text)
        assert "inputAudio " in refused.text and word in refused.text, (name, refused.text)


def _openai_wait(server: Server, project: Project, video: str) -> dict[str, Any]:
    deadline = time.monotonic() + 240
    while True:
        body = httpx.get(f"{server.url}/v1/videos/{video}", headers=_bearer(project)).json()
        if body["status"] in ("completed", "failed") or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


def test_openai_multipart_audio_part_follows_the_voice(
    server: Server, project: Project, voice: tuple[bytes, float], tmp_path: Path
) -> None:
    files = {
        "input_reference": ("face.jpg", face_jpeg(), "image/jpeg"),
        "audio": ("voice.wav", voice[0], "audio/wav"),
    }
    response = httpx.post(
        f"{server.url}/v1/videos",
        headers=_bearer(project),
        files=files,
        data={"prompt": "He smiles"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    video = _openai_wait(server, project, response.json()["id"])
    assert video["status"] == "completed", video
    url = f"{server.url}/v1/videos/{video['id']}/content"
    content = httpx.get(url, headers=_bearer(project), timeout=30)
    (tmp_path / "o.mp4").write_bytes(content.content)
    info = probe(tmp_path / "o.mp4")
    assert voice[1] < info.duration <= voice[1] + 1.0, (voice[1], info.duration)
    assert abs(float(video["seconds"]) - info.duration) < 0.05
    assert info.audio_codec == "aac"
    for name, (data, word) in {**BAD, "truncated": (_truncated(voice[0]), "truncated")}.items():
        files["audio"] = ("bad.wav", data, "audio/wav")
        refused = httpx.post(
            f"{server.url}/v1/videos", headers=_bearer(project), files=files, timeout=60
        )
        assert refused.status_code == 400, (name, refused.text)
        error = refused.json()["error"]
        assert error["param"] == "audio" and word in error["message"], (name, error)
    # The same extension as a data URL in JSON, under `audio_url`.
    photo = "data:image/jpeg;base64," + base64.b64encode(face_jpeg()).decode()
    refused = httpx.post(
        f"{server.url}/v1/videos",
        headers=_bearer(project),
        json={"input_reference": {"image_url": photo}, "audio_url": _data_uri(BAD["silent"][0])},
        timeout=60,
    )
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "audio_url"


def test_minimax_audio_url_as_a_data_uri(
    server: Server, project: Project, voice: tuple[bytes, float], tmp_path: Path
) -> None:
    photo = "data:image/jpeg;base64," + base64.b64encode(face_jpeg()).decode()
    body = {
        "model": "S2V-01",
        "prompt": "She smiles",
        "subject_reference": [{"type": "character", "image": [photo]}],
        "audio_url": _data_uri(voice[0]),
    }
    response = httpx.post(
        f"{server.url}/v1/video_generation", headers=_bearer(project), json=body, timeout=60
    )
    assert response.json()["base_resp"]["status_code"] == 0, response.text
    task = server.wait(project, response.json()["task_id"], timeout=240)
    assert task["pexit"] == "0", task["debugerror"]
    assert "uploaded audio_url," in task["debugoutput"]
    _check_video(task["outputs"][0]["url"], tmp_path, voice[1])  # no duration: the voice's
    for name, (data, word) in BAD.items():
        refused = httpx.post(
            f"{server.url}/v1/video_generation",
            headers=_bearer(project),
            json={**body, "audio_url": _data_uri(data)},
            timeout=60,
        ).json()
        assert refused["base_resp"]["status_code"] == 2013, (name, refused)
        message = refused["base_resp"]["status_msg"]
        assert "audio_url" in message and word in message, (name, message)


def test_replicate_audio_as_a_file_or_data_uri(
    server: Server, project: Project, voice: tuple[bytes, float], tmp_path: Path
) -> None:
    uploaded = httpx.post(
        f"{server.url}/v1/files",
        headers=_bearer(project),
        files={"content": ("voice.wav", voice[0], "audio/wav")},
        timeout=60,
    )
    assert uploaded.status_code == 201, uploaded.text
    photo = "data:image/jpeg;base64," + base64.b64encode(face_jpeg()).decode()
    create = f"{server.url}/v1/models/minimax/hailuo-02/predictions"
    body = {"input": {"first_frame_image": photo, "audio": uploaded.json()["urls"]["get"]}}
    response = httpx.post(create, headers=_bearer(project), json=body, timeout=60)
    assert response.status_code == 201, response.text
    prediction = response.json()
    deadline = time.monotonic() + 240
    while prediction["status"] not in ("succeeded", "failed", "canceled"):
        assert time.monotonic() < deadline, prediction
        time.sleep(0.2)
        prediction = httpx.get(
            f"{server.url}/v1/predictions/{prediction['id']}", headers=_bearer(project)
        ).json()
    assert prediction["status"] == "succeeded", prediction
    output = prediction["output"]
    _check_video(output if isinstance(output, str) else output[0], tmp_path, voice[1])
    assert voice[1] < prediction["input"]["duration"] <= voice[1] + 1.0
    # The `voice` extension is checked at the door too, named as Replicate spells inputs.
    bad = {"input": {"first_frame_image": photo, "voice": "robot"}}
    refused = httpx.post(create, headers=_bearer(project), json=bad, timeout=60)
    assert refused.status_code == 422, refused.text
    field = refused.json()["invalid_fields"][0]
    assert field["field"] == "input.voice", refused.text
    assert field["description"].startswith("input.voice is 'robot'; choose one of female")
    for name, (data, word) in {**BAD, "truncated": (_truncated(voice[0]), "truncated")}.items():
        bad = {"input": {"first_frame_image": photo, "audio": _data_uri(data)}}
        refused = httpx.post(create, headers=_bearer(project), json=bad, timeout=60)
        assert refused.status_code == 422, (name, refused.text)
        assert "audio " in refused.json()["detail"] and word in refused.json()["detail"], name


def test_a_bad_voice_by_url_fails_the_task_naming_the_dialects_input(
    server: Server, project: Project
) -> None:
    """The worker fetches a voice given by URL; when it is not audio the task fails (the
    worker goes on) and the error names `audio_url` as OpenAI's caller spelled it."""
    routes = {"/photo.wav": lambda h: send(h, 200, face_jpeg(), "audio/wav")}
    photo = "data:image/jpeg;base64," + base64.b64encode(face_jpeg()).decode()
    with fixture_server(routes) as base:
        response = httpx.post(
            f"{server.url}/v1/videos",
            headers=_bearer(project),
            json={"input_reference": {"image_url": photo}, "audio_url": f"{base}/photo.wav"},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        video = _openai_wait(server, project, response.json()["id"])
    assert video["status"] == "failed", video
    message = video["error"]["message"]
    assert message.startswith("audio_url ") and "inputAudioUrl" not in message, message
