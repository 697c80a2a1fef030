"""A voice recording given by URL (`inputAudioUrl`, each dialect's audio URL) is fetched by the
API's input stage like the image, before any worker takes the task: a trickling audio host holds
no engine worker, so another project's task starts at once (tasks/inputs.py)."""

from __future__ import annotations

import time
from pathlib import Path

from tests.faults.conftest import no_server_errors, row, upload, wait_for
from tests.faults.test_slow_peers import ALLOWED, Trickler
from tests.utils.figures import record
from tests.utils.server import Server


def test_a_trickling_audio_url_holds_no_worker(
    tmp_path: Path, face: bytes, servers: list[Server]
) -> None:
    env = {
        "S2V_ENGINE": "camera",
        "S2V_FETCH_ALLOW_HOSTS": ALLOWED,
        "S2V_FETCH_TIMEOUT_SECONDS": "12",
    }
    srv = Server(tmp_path / "audio-fetch", env=env)
    servers.append(srv)
    srv.start()
    abuser, other = srv.keys("abuser"), srv.keys("other")
    trickler = Trickler()
    try:
        voice = {"inputAudioUrl": f"{trickler.url}/voice.wav", "prompt": "She smiles"}
        slow = [srv.run(abuser, files=upload(face), data=voice).json()["taskid"] for _ in range(2)]
        wait_for("an audio fetch to begin", lambda: trickler.active >= 1, 10)

        # Another project's task runs on the one engine worker at once, not after the trickle.
        theirs = srv.run(other, files=upload(face)).json()["taskid"]
        done = srv.wait(other, theirs, timeout=60)
        assert done["pexit"] == "0", done["debugerror"]
        waited = float(done["starttime"]) - float(done["createtime"])
        assert waited < 5, f"another project's task waited {waited:.1f} s for the trickle"
        assert trickler.active == 2, trickler.active  # both in the input stage at once
        assert {srv.detail(abuser, t)["status"] for t in slow} == {"task_queue"}

        # A Kill during the audio fetch ends it; the other is cut at the fetch deadline, as an
        # input failure naming the audio input, never having reached a worker.
        killed, cut = slow
        asked = time.monotonic()
        response = srv.post("/v1/Task/Kill", abuser, json={"taskid": killed})
        assert response.status_code == 200, response.text
        wait_for("the killed fetch to stop", lambda: len(trickler.held) >= 1, 5)
        assert time.monotonic() - asked < 5
        task = srv.wait(abuser, cut, timeout=40)
        assert task["pexit"] == "1", task
        assert "inputAudioUrl" in task["debugerror"], task["debugerror"]
        for taskid in slow:
            assert row(srv, taskid)["accepttime"] is None  # no worker claimed it
        assert float(task["postprocessendtime"]) > float(done["starttime"]), (task, done)
    finally:
        trickler.close()
    no_server_errors(srv)
    record("faults: trickling Run audio URL", tried=3, handled=3, got_through=0)
