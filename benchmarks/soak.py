"""Soak under an abusive tenant: a steady mixed load through every dialect for a long time.

    make bench BENCH=soak                  # 30 minutes (SOAK_MINUTES overrides)
    python benchmarks/soak.py --minutes 3  # directly (PYTHONPATH=src:.)

One `s2v serve` with its defaults (embedded SQLite, the default local workers, the portrait
engine). Four well-behaved projects, one client each, one task at a time with a pause between
tasks (about one task in flight per worker, not a flood):
- `wiro`: Run with an upload (half with a callback to a quick receiver), Detail polling;
- `openai`: `POST /v1/videos` with an upload, `GET /v1/videos/{id}` polling, the content;
- `minimax`: `POST /v1/video_generation` with a data URI, the query, `files/retrieve`;
- `replicate`: a prediction with a data URI, `GET /v1/predictions/{id}` polling.
Each sometimes kills its task while it runs (Wiro Kill, OpenAI DELETE, Replicate cancel),
cancels it while queued (Wiro Cancel), or sends a bad input (no face, a refused address, a
broken image, a missing image). The abusive project `abuser` keeps its unfinished tasks near its
limit with image URLs that trickle a byte every 0.5 s (each fails at the fetch deadline), calls
Face/Detect with such a URL, and now and then runs a real task whose callback goes to a receiver
that takes 8 s to answer.

Reported from the store at the end (after every client stopped and every accepted task was given
5 minutes to end): accepted, lost (accepted but not final, or missing: must be 0), outcomes and
failures by kind per project, each succeeded task's MP4 decoded from storage (150 frames, or the
OpenAI default's 100), p50/p99 submit-to-start (created to claimed) per project, and the RSS of
the API process and of each worker at equal ages, with the load average.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.server
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.faults.test_slow_peers import Trickler  # noqa: E402
from tests.utils.images import cat_jpeg, face_jpeg  # noqa: E402
from tests.utils.server import FIXTURE_HOST, Project, Server, fixture_server, send  # noqa: E402

from subject2video.media.video import probe  # noqa: E402

FINAL = ("task_postprocess_end", "task_cancel")
Handler = http.server.BaseHTTPRequestHandler
PROMPTS = ["She smiles", "He nods slowly", "turns her head to the left", "blinks and smiles"]
#: RSS is sampled this often, and reported at these ages (minutes).
SAMPLE_SECONDS = 30
REPORT_EVERY_MINUTES = 5


@dataclass
class Tally:
    """What the clients saw, shared between their threads."""

    #: task id → project name, for every task a dialect accepted.
    accepted: dict[int, str] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accept(self, project: str, task_id: int) -> None:
        with self.lock:
            self.accepted[task_id] = project

    def add(self, name: str) -> None:
        with self.lock:
            self.counts[name] += 1


class Receivers:
    """Callback receivers on the fixture host: a quick one, and a slow one (8 s an answer)."""

    def __init__(self) -> None:
        self.arrivals: dict[str, int] = Counter()
        self._stack = contextlib.ExitStack()
        self.quick = self._stack.enter_context(fixture_server({"*": self._answer(0, "quick")}))
        self.slow = self._stack.enter_context(fixture_server({"*": self._answer(8, "slow")}))

    def _answer(self, delay: float, name: str) -> Callable[[Handler], None]:
        def handle(handler: Handler) -> None:
            handler.rfile.read(int(handler.headers.get("content-length") or 0))
            time.sleep(delay)
            self.arrivals[name] += 1
            send(handler, 200, b"{}", "application/json")

        return handle

    def close(self) -> None:
        self._stack.close()


class Soak:
    """One server, its clients and the abusive tenant, for `seconds`."""

    def __init__(self, root: Path, seconds: float) -> None:
        self.seconds = seconds
        self.data = root / "s2v"
        # S2V_WORKERS=0: the default worker count (the test helper pins 1 otherwise).
        self.server = Server(self.data, env={"S2V_WORKERS": "0"}, log_dir=root)
        self.tally = Tally()
        self.face = face_jpeg()
        self.face_uri = "data:image/jpeg;base64," + base64.b64encode(self.face).decode()
        self.stop = threading.Event()
        #: (seconds since start, API MB, [worker MB...], load average 1 min)
        self.rss: list[tuple[float, float, list[float], float]] = []
        self.verbose = bool(os.environ.get("SOAK_VERBOSE"))
        self.projects: dict[str, Project] = {}

    # -- the run ------------------------------------------------------------------------------

    def run(self) -> None:
        self.trickler = Trickler(host=FIXTURE_HOST)
        self.receivers = Receivers()
        self.server.start(timeout=300)
        try:
            for name in ("wiro", "openai", "minimax", "replicate", "abuser"):
                self.projects[name] = self.server.keys(name)
            self.t0 = time.monotonic()
            clients: list[Callable[[random.Random], None]] = [
                self._wiro,
                self._openai,
                self._minimax,
                self._replicate,
                self._abuse_fetch,
                self._abuse_callbacks,
                self._abuse_detect,
            ]
            threads = [
                threading.Thread(target=self._loop, args=(c, i), name=c.__name__)
                for i, c in enumerate(clients)
            ]
            for thread in threads:
                thread.start()
            sampler = threading.Thread(target=self._sample_rss, daemon=True)
            sampler.start()
            self.stop.wait(self.seconds)
            self.stop.set()
            for thread in threads:
                thread.join(120)
            self._sample_once()
            self.drained = self._drain()
            self.rows = self._store_rows()
            self.videos = self._decode_outputs()
            log = self.server.log_path.read_text(errors="replace") if self.server.log_path else ""
            self.server_errors = log.count('" 500') + log.count("Traceback")
        finally:
            self.stop.set()
            self.server.stop(timeout=120)
            self.trickler.close()
            self.receivers.close()

    def _loop(self, client: Callable[[random.Random], None], seed: int) -> None:
        rng = random.Random(seed)
        while not self.stop.is_set():
            try:
                client(rng)
            except Exception as exc:  # counted, and the client goes on (a failed check too)
                self.tally.add(f"{client.__name__}: {type(exc).__name__}")
                self.stop.wait(1)

    def _pause(self, rng: random.Random) -> None:
        self.stop.wait(rng.uniform(5, 20))

    def _auth(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.projects[name].apikey}"}

    def _http(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("timeout", 60)
        return httpx.request(method, f"{self.server.url}{path}", **kwargs)

    def _poll(self, read: Callable[[], str | None], kill: Callable[[], None] | None) -> str:
        """Poll `read` (a final word, or None) every second; `kill` once it has started."""
        deadline = time.monotonic() + 900
        polls = 0
        while time.monotonic() < deadline:
            word = read()
            if word is not None:
                return word
            polls += 1
            if kill is not None and polls == 4:
                kill()
            time.sleep(1)
        return "timed out"

    # -- the well-behaved projects --------------------------------------------------------------

    def _wiro(self, rng: random.Random) -> None:
        project = self.projects["wiro"]
        data = {"prompt": rng.choice(PROMPTS)}
        image = self.face
        if rng.random() < 0.08:
            image = cat_jpeg()  # no face: the task fails as an image failure
        if rng.random() < 0.5:
            data["callbackUrl"] = f"{self.receivers.quick}/wiro"
        files = {"inputImageFirst": ("face.jpg", image, "image/jpeg")}
        response = self.server.run(project, files=files, data=data)
        if response.status_code != 200:
            self.tally.add(f"wiro run: HTTP {response.status_code}")
            return self._pause(rng)
        task_id = int(response.json()["taskid"])
        self.tally.accept("wiro", task_id)
        roll = rng.random()
        if roll < 0.05:
            self.server.post("/v1/Task/Cancel", project, json={"taskid": str(task_id)})
        kill = None
        if 0.05 <= roll < 0.15:

            def kill() -> None:
                self.server.post("/v1/Task/Kill", project, json={"taskid": str(task_id)})

        def read() -> str | None:
            task = self.server.detail(project, str(task_id))
            if task["status"] not in FINAL:
                return None
            if task["pexit"] == "0" and task["status"] == "task_postprocess_end":
                self._download(task["outputs"][0]["url"], "wiro")
            return task["status"]

        self._poll(read, kill)
        self._pause(rng)

    def _openai(self, rng: random.Random) -> None:
        auth = self._auth("openai")
        if rng.random() < 0.08:  # a refused address: 400 at once, or an image failure
            response = self._http(
                "POST",
                "/v1/videos",
                headers=auth,
                json={"prompt": "hi", "image_url": "http://10.0.0.1/face.jpg"},
            )
        else:
            files = {"input_reference": ("face.jpg", self.face, "image/jpeg")}
            response = self._http(
                "POST",
                "/v1/videos",
                headers=auth,
                files=files,
                data={"prompt": rng.choice(PROMPTS), "model": "s2v-1"},
            )
        if response.status_code != 200:
            self.tally.add(f"openai create: HTTP {response.status_code}")
            return self._pause(rng)
        video = response.json()["id"]
        self.tally.accept("openai", int(video.removeprefix("video_")))
        kill = None
        if rng.random() < 0.1:

            def kill() -> None:
                self._http("DELETE", f"/v1/videos/{video}", headers=auth)

        def read() -> str | None:
            answer = self._http("GET", f"/v1/videos/{video}", headers=auth)
            if answer.status_code == 404:
                return "deleted"
            status = answer.json()["status"]
            if status == "completed":
                content = f"{self.server.url}/v1/videos/{video}/content"
                self._download(content, "openai", headers=auth)
            return status if status in ("completed", "failed") else None

        self._poll(read, kill)
        self._pause(rng)

    def _minimax(self, rng: random.Random) -> None:
        auth = self._auth("minimax")
        image = self.face_uri
        if rng.random() < 0.08:
            image = "data:image/jpeg;base64,/9j/4AAQSkZJRgABAQ"  # a broken JPEG: 1026 at once
        body = {
            "model": "S2V-01",
            "prompt": rng.choice(PROMPTS),
            "subject_reference": [{"type": "character", "image": [image]}],
        }
        answer = self._http("POST", "/v1/video_generation", headers=auth, json=body).json()
        if answer["base_resp"]["status_code"] != 0:
            self.tally.add(f"minimax create: {answer['base_resp']['status_code']}")
            return self._pause(rng)
        task_id = answer["task_id"]
        self.tally.accept("minimax", int(task_id))

        def read() -> str | None:
            query = self._http(
                "GET", "/v1/query/video_generation", headers=auth, params={"task_id": task_id}
            ).json()
            if query["status"] == "Success":
                file = self._http(
                    "GET",
                    "/v1/files/retrieve",
                    headers=auth,
                    params={"file_id": query["file_id"]},
                ).json()
                self._download(file["file"]["download_url"], "minimax")
            return query["status"] if query["status"] in ("Success", "Fail") else None

        self._poll(read, None)
        self._pause(rng)

    def _replicate(self, rng: random.Random) -> None:
        auth = self._auth("replicate")
        given: dict[str, object] = {"prompt": rng.choice(PROMPTS)}
        given["subject_reference"] = self.face_uri
        if rng.random() < 0.08:
            given = {"prompt": "no photo"}  # 422: the photo is required
        response = self._http(
            "POST", "/v1/models/minimax/video-01/predictions", headers=auth, json={"input": given}
        )
        if response.status_code != 201:
            self.tally.add(f"replicate create: HTTP {response.status_code}")
            return self._pause(rng)
        prediction = response.json()["id"]
        self.tally.accept("replicate", int(prediction))
        kill = None
        if rng.random() < 0.1:

            def kill() -> None:
                self._http("POST", f"/v1/predictions/{prediction}/cancel", headers=auth)

        def read() -> str | None:
            got = self._http("GET", f"/v1/predictions/{prediction}", headers=auth).json()
            if got["status"] == "succeeded":
                output = got["output"]
                self._download(output if isinstance(output, str) else output[0], "replicate")
            return got["status"] if got["status"] in ("succeeded", "failed", "canceled") else None

        self._poll(read, kill)
        self._pause(rng)

    def _download(self, url: str, project: str, headers: dict[str, str] | None = None) -> None:
        """Fetch a finished video through the dialect; it is decoded from storage at the end."""
        video = httpx.get(url, headers=headers, timeout=60, follow_redirects=True)
        ok = video.status_code == 200 and video.content[4:8] == b"ftyp"
        self.tally.add(f"{project} download: {'MP4' if ok else f'HTTP {video.status_code}'}")

    # -- the abusive tenant -----------------------------------------------------------------------

    def _abuse_fetch(self, rng: random.Random) -> None:
        """Trickling image URLs up to two short of the limit (the rest is for its real tasks)."""
        project = self.projects["abuser"]
        url = f"{self.trickler.url}/face.jpg"
        mine = self._unfinished("abuser")
        for _ in range(max(0, 14 - mine)):
            response = self.server.run(project, data={"inputImageFirstUrl": url})
            if response.status_code != 200:
                self.tally.add(f"abuser trickle run: HTTP {response.status_code}")
                break
            task_id = int(response.json()["taskid"])
            self.tally.accept("abuser", task_id)
            if rng.random() < 0.05:  # a cancel during the fetch
                self.server.post("/v1/Task/Cancel", project, json={"taskid": str(task_id)})
        self.stop.wait(3)

    def _abuse_callbacks(self, rng: random.Random) -> None:
        """A real task now and then, its callback to the receiver that takes 8 s to answer."""
        self.stop.wait(rng.uniform(20, 40))
        files = {"inputImageFirst": ("face.jpg", self.face, "image/jpeg")}
        data = {"prompt": "She smiles", "callbackUrl": f"{self.receivers.slow}/abuser"}
        response = self.server.run(self.projects["abuser"], files=files, data=data)
        if response.status_code != 200:
            self.tally.add(f"abuser run: HTTP {response.status_code}")
            return
        self.tally.accept("abuser", int(response.json()["taskid"]))

    def _abuse_detect(self, rng: random.Random) -> None:
        """Face/Detect with a trickling URL: it waits for one of its project's fetch slots (its
        own trickling tasks hold them), then for the fetch deadline."""
        body = {"inputImageUrl": f"{self.trickler.url}/detect.jpg"}
        try:
            headers = self.projects["abuser"].headers()
            response = self._http(
                "POST", "/v1/Face/Detect", headers=headers, json=body, timeout=180
            )
            self.tally.add(f"abuser Face/Detect: HTTP {response.status_code}")
        except httpx.HTTPError as exc:
            self.tally.add(f"abuser Face/Detect: {type(exc).__name__}")
        self.stop.wait(rng.uniform(5, 15))

    def _unfinished(self, name: str) -> int:
        with self.tally.lock:
            ids = [t for t, p in self.tally.accepted.items() if p == name]
        if not ids:
            return 0
        statuses = self._statuses(ids)
        return sum(1 for t in ids if statuses.get(t) not in FINAL)

    # -- the store, read-only ---------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.data / 's2v.db'}?mode=ro", uri=True, timeout=30)

    def _statuses(self, ids: list[int]) -> dict[int, str]:
        with contextlib.closing(self._db()) as db:
            marks = ",".join("?" * len(ids))
            rows = db.execute(f"SELECT id, status FROM tasks WHERE id IN ({marks})", ids)
            return dict(rows.fetchall())

    def _drain(self) -> float:
        """Wait (up to 5 minutes) for every accepted task to end; the seconds it took."""
        began = time.monotonic()
        ids = list(self.tally.accepted)
        while ids and time.monotonic() - began < 300:
            statuses = self._statuses(ids)
            if all(statuses.get(t) in FINAL for t in ids):
                break
            time.sleep(1)
        return time.monotonic() - began

    def _store_rows(self) -> dict[int, sqlite3.Row]:
        with contextlib.closing(self._db()) as db:
            db.row_factory = sqlite3.Row
            rows = db.execute(
                "SELECT t.id, t.status, t.pexit, t.failure, t.createtime, t.accepttime, "
                "t.attempts, o.key FROM tasks t LEFT JOIN outputs o ON o.task_id = t.id"
            ).fetchall()
        return {row["id"]: row for row in rows}

    def _decode_outputs(self) -> Counter[str]:
        """Decode every succeeded task's MP4 from storage."""
        found: Counter[str] = Counter()
        for task_id in self.tally.accepted:
            row = self.rows.get(task_id)
            if row is None or row["pexit"] != "0" or row["status"] != "task_postprocess_end":
                continue
            try:
                info = probe(self.data / "outputs" / row["key"])
                good = info.frames in (100, 150) and info.codec == "h264"
            except Exception as exc:  # any failure to decode is what we count
                print(f"task {task_id}: {exc!r}", flush=True)
                good = False
            found["decoded" if good else "did not decode"] += 1
        return found

    # -- memory -------------------------------------------------------------------------------

    def _processes(self) -> tuple[float, list[float]]:
        """MB resident of the API process and of each engine worker."""
        assert self.server.proc is not None
        try:
            root = psutil.Process(self.server.proc.pid)
            workers = []
            for child in root.children(recursive=True):
                if "resource_tracker" not in " ".join(child.cmdline()):
                    workers.append(child.memory_info().rss / 1e6)
            return root.memory_info().rss / 1e6, sorted(workers)
        except psutil.Error:
            return 0.0, []

    def _sample_once(self) -> None:
        api, workers = self._processes()
        age = time.monotonic() - self.t0
        self.rss.append((age, api, workers, os.getloadavg()[0]))
        if self.verbose:
            print(
                f"{age:5.0f} s  api {api:.0f} MB, workers {workers}, {dict(self.tally.counts)}",
                flush=True,
            )

    def _sample_rss(self) -> None:
        self._sample_once()
        while not self.stop.wait(SAMPLE_SECONDS):
            self._sample_once()

    # -- the report ---------------------------------------------------------------------------

    def report(self, minutes: float, started: str) -> str:
        rows, accepted = self.rows, self.tally.accepted
        lost = [t for t in accepted if t not in rows or rows[t]["status"] not in FINAL]
        lines = [
            f"Soak: {minutes:g} min from {started}, `s2v serve` defaults (portrait engine, "
            f"{max(len(w) for _, _, w, _ in self.rss)} workers), drained in {self.drained:.0f} s",
            "",
            "| project | accepted | lost | succeeded (MP4) | failed, by kind | cancelled or killed "
            "| submit-to-start p50 | p99 | max |",
            "|---|---:|---:|---:|---|---:|---:|---:|---:|",
        ]
        for name in self.projects:
            mine = [rows[t] for t, p in accepted.items() if p == name and t in rows]
            outcome = Counter(
                "cancelled"
                if r["status"] == "task_cancel"
                else "done"
                if r["pexit"] == "0"
                else f"failed {r['failure']}"
                for r in mine
            )
            kinds = ", ".join(
                f"{k.removeprefix('failed ')} {v}"
                for k, v in sorted(outcome.items())
                if k.startswith("failed")
            )
            waits = sorted(r["accepttime"] - r["createtime"] for r in mine if r["accepttime"])
            lines.append(
                f"| {name} | {sum(1 for p in accepted.values() if p == name)} "
                f"| {sum(1 for t in lost if accepted[t] == name)} | {outcome['done']} "
                f"| {kinds or '-'} | {outcome['cancelled']} | {_pct(waits, 50)} "
                f"| {_pct(waits, 99)} | {_pct(waits, 100)} |"
            )
        lines += [
            "",
            f"Accepted {len(accepted)}, lost **{len(lost)}**{f' ({lost})' if lost else ''}; "
            f"succeeded MP4s decoded from storage: {dict(self.videos)}; "
            f"retried tasks (attempts > 1): {sum(1 for r in rows.values() if r['attempts'] > 1)}; "
            f"500 answers and tracebacks in the server's log: {self.server_errors}.",
            "",
            "| age | API RSS | worker RSS (each) | load average (1 min) |",
            "|---:|---:|---|---:|",
        ]
        for age, api, workers, load in self._at_equal_ages():
            each = ", ".join(f"{w:.0f}" for w in workers) or "-"
            lines.append(f"| {age / 60:.0f} min | {api:.0f} MB | {each} MB | {load:.2f} |")
        lines += ["", "Client-side counts:", ""]
        lines += [f"- {name}: {count}" for name, count in sorted(self.tally.counts.items())]
        lines.append(f"- callbacks received: {dict(self.receivers.arrivals)}")
        return "\n".join(lines)

    def _at_equal_ages(self) -> list[tuple[float, float, list[float], float]]:
        """The first sample, then the one nearest each REPORT_EVERY_MINUTES, then the last."""
        if not self.rss:
            return []
        chosen = [self.rss[0]]
        step = REPORT_EVERY_MINUTES * 60
        mark = step
        while mark < self.rss[-1][0] - SAMPLE_SECONDS / 2:
            chosen.append(min(self.rss, key=lambda s: abs(s[0] - mark)))
            mark += step
        chosen.append(self.rss[-1])
        return chosen


def _pct(values: list[float], q: float) -> str:
    if not values:
        return "-"
    if q >= 100:
        return f"{values[-1]:.1f} s"
    if len(values) == 1:
        return f"{values[0]:.1f} s"
    return f"{statistics.quantiles(values, n=100, method='inclusive')[int(q) - 1]:.1f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", 30)))
    args = parser.parse_args()
    started = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()[0]:.2f}"
    with tempfile.TemporaryDirectory(prefix="s2v-soak-") as tmp:
        soak = Soak(Path(tmp), args.minutes * 60)
        soak.run()
        print(soak.report(args.minutes, started), flush=True)
        lost = [
            t
            for t in soak.tally.accepted
            if t not in soak.rows or soak.rows[t]["status"] not in FINAL
        ]
        bad = soak.videos.get("did not decode", 0)
    return 1 if lost or bad else 0


if __name__ == "__main__":
    sys.exit(main())
