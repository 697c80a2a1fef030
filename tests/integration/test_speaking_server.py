"""A speaking video through a real server: Wiro's curl-style Run with a quoted line gives an MP4
whose audio stream decodes, 6.0 s long, lips measured against it; a line too long for 6 s is
refused naming the prompt."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import wave
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from subject2video.media.speaking import speech_for
from subject2video.media.video import probe, read_audio
from tests.utils.images import face_jpeg
from tests.utils.server import REPO, Project, Server, fixture_server, send

PROMPT = 'She looks at the camera and says: "Welcome to our shop, we are open every day."'


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("speaking"))
    srv.start()
    yield srv
    srv.stop()


@pytest.mark.slow
def test_a_quoted_line_gives_a_video_with_its_voice(server: Server, tmp_path: Path) -> None:
    project: Project = server.keys("speaking")
    image = tmp_path / "face.jpg"
    image.write_bytes(face_jpeg())
    with image.open("rb") as file:
        response = server.run(
            project, files={"inputImageFirst": ("face.jpg", file, "image/jpeg")},
            data={"prompt": PROMPT, "seed": "5", "voice": "male"},
        )  # fmt: skip
    assert response.status_code == 200, response.text
    task = server.wait(project, response.json()["taskid"], timeout=180)
    assert task["pexit"] == "0", task["debugerror"]
    assert "voice male" in task["debugoutput"] and "phones from flite" in task["debugoutput"]
    video = tmp_path / "out.mp4"
    video.write_bytes(httpx.get(task["outputs"][0]["url"], timeout=30).content)
    info = probe(video)
    assert info.frames == 150 and info.audio_codec == "aac"
    assert abs(info.audio_duration - info.duration) <= 0.1
    audio = read_audio(video)
    assert audio is not None and audio.peak_dbfs() > -30
    # `s2v eval` measures it: dlib's lips against the audio, phones aligned from the audio.
    out = subprocess.run(
        [sys.executable, "-m", "subject2video", "eval", str(video), "--reference", str(image),
         "--prompt", PROMPT, "--json", "--identity-step", "25"],
        check=True, capture_output=True, text=True, cwd=REPO,
        env={"PYTHONPATH": f"{REPO / 'src'}:{REPO}", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    speech = json.loads(out.stdout)["speech"]
    assert speech["lip_sync_r"] >= 0.5, speech
    # The lips move with the sound: the best lag (within ±2 frames) is 0, or 1 either way.
    assert abs(speech["lip_sync_lag_frames"]) <= 1, speech
    assert speech["bilabials"] >= 2 and speech["closure_share"] >= 0.8, speech
    assert speech["word_accuracy"] >= 0.75, speech


def test_a_line_too_long_for_a_run_names_the_prompt(server: Server, tmp_path: Path) -> None:
    project: Project = server.keys("speaking-long")
    image = tmp_path / "face.jpg"
    image.write_bytes(face_jpeg())
    words = " ".join(["and then we walked along the river for a very long time"] * 3)
    with image.open("rb") as file:
        response = server.run(
            project, files={"inputImageFirst": ("face.jpg", file, "image/jpeg")},
            data={"prompt": f'She says "{words}"'},
        )  # fmt: skip
    assert response.status_code == 200, response.text
    task = server.wait(project, response.json()["taskid"], timeout=120)
    assert task["pexit"] != "0"
    assert "prompt" in task["debugerror"] and "6.0 s" in task["debugerror"], task["debugerror"]


@pytest.mark.slow
def test_an_audio_url_drives_the_lips_and_bad_audio_fails_naming_it(
    server: Server, tmp_path: Path
) -> None:
    project: Project = server.keys("speaking-audio")
    image = tmp_path / "face.jpg"
    image.write_bytes(face_jpeg())
    voice, _ = speech_for('He says "Thank you for watching, and see you next week."', "male")
    assert voice is not None
    wav = io.BytesIO()
    with wave.open(wav, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(voice.audio.rate)
        w.writeframes((voice.audio.samples * 32767).astype("<i2").tobytes())
    routes = {
        "/voice.wav": lambda h: send(h, 200, wav.getvalue(), "audio/wav"),
        "/photo.wav": lambda h: send(h, 200, face_jpeg(), "audio/wav"),
    }
    with fixture_server(routes) as base:
        results = {}
        for name in ("voice", "photo"):
            with image.open("rb") as file:
                response = server.run(
                    project, files={"inputImageFirst": ("face.jpg", file, "image/jpeg")},
                    data={"prompt": "She smiles", "inputAudioUrl": f"{base}/{name}.wav"},
                )  # fmt: skip
            assert response.status_code == 200, response.text
            results[name] = server.wait(project, response.json()["taskid"], timeout=180)
    good, bad = results["voice"], results["photo"]
    assert good["pexit"] == "0", good["debugerror"]
    assert "uploaded inputAudioUrl" in good["debugoutput"]
    video = tmp_path / "audio.mp4"
    video.write_bytes(httpx.get(good["outputs"][0]["url"], timeout=30).content)
    info = probe(video)
    assert info.audio_codec == "aac" and info.frames == 150
    assert bad["pexit"] != "0" and "inputAudioUrl" in bad["debugerror"], bad["debugerror"]
