"""In scale-out the API replica that takes a Run fetches its URL inputs, under a lease in Redis.
A replica killed with SIGKILL mid-fetch leaves a lease that lapses: a replica that stays up takes
the fetch over and the task runs (tasks/fetch_leases.py). A Cancel or Kill answered by another
replica stops the fetch on the replica running it."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from tests.faults.conftest import wait_for
from tests.faults.scaleout import deployment
from tests.faults.test_run_fetch import SlowThenServes
from tests.faults.test_slow_peers import ALLOWED, Trickler
from tests.utils.figures import record

ENV = {"S2V_FETCH_ALLOW_HOSTS": ALLOWED, "S2V_FETCH_TIMEOUT_SECONDS": "20"}


def test_a_fetch_abandoned_by_a_killed_replica_is_taken_over(tmp_path: Path, face: bytes) -> None:
    host = SlowThenServes(face)  # trickles to the first fetch, serves the photo to the next
    try:
        with deployment(tmp_path, **ENV) as d:
            d.worker()
            victim, survivor = d.api(), d.api()
            project = victim.keys("a")
            response = victim.run(project, data={"inputImageFirstUrl": f"{host.url}/face.jpg"})
            assert response.status_code == 200, response.text
            taskid = response.json()["taskid"]
            wait_for("the fetch to begin", lambda: host.connections >= 1, 10)
            victim.stop(signal.SIGKILL)
            killed = time.monotonic()
            assert survivor.detail(project, taskid)["status"] == "task_queue"
            done = survivor.wait(project, taskid, timeout=60)
            took = time.monotonic() - killed
    finally:
        host.close()
    assert done["pexit"] == "0", done["debugerror"]
    assert host.connections == 2, host.connections
    assert done["debugoutput"].count("(the API's fetch stage)") == 2, done["debugoutput"]
    assert took < 30, f"the task ended {took:.1f} s after its replica was killed"
    record("faults: scale-out fetch of a killed replica", tried=1, handled=1, got_through=0)


def test_cancel_and_kill_on_another_replica_stop_the_fetch(tmp_path: Path) -> None:
    trickler = Trickler()
    try:
        with deployment(tmp_path, **ENV) as d:
            d.worker()
            fetching, other = d.api(), d.api()
            project = fetching.keys("a")
            image = {"inputImageFirstUrl": f"{trickler.url}/face.jpg"}
            ids = [fetching.run(project, data=image).json()["taskid"] for _ in range(2)]
            wait_for("both fetches to begin", lambda: trickler.active >= 2, 10)
            asked = time.monotonic()
            for path, taskid in zip(("/v1/Task/Cancel", "/v1/Task/Kill"), ids, strict=True):
                response = other.post(path, project, json={"taskid": taskid})
                assert response.status_code == 200, response.text
            wait_for("both fetches to stop", lambda: len(trickler.held) >= 2, 10)
            stopped = time.monotonic() - asked
            statuses = [other.detail(project, taskid)["status"] for taskid in ids]
    finally:
        trickler.close()
    assert statuses == ["task_cancel", "task_cancel"]
    assert stopped < 5, f"the fetches ran {stopped:.1f} s after the Cancel and the Kill"
    record("faults: scale-out Cancel and Kill of a fetch", tried=2, handled=2, got_through=0)
