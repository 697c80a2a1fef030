"""Soak benchmark: mixed load for a long time against `s2v serve`, with the operator's bad day
thrown in: periodic stops (SIGTERM, SIGHUP, a double signal) and restarts, and the data
directory's disk filling up and draining.

    make bench BENCH=soak_restarts              # 30 minutes (SOAK_MINUTES overrides)
    python benchmarks/soak_restarts.py --minutes 12   # directly

Clients (modest: the camera engine, a few clients that pause between tasks) Run with an upload,
poll Detail, list, sometimes kill, and delete each finished task's files. Reports the tasks
accepted, finished and lost (accepted but never final), failures, refusals (503 while the disk was
full or the server was stopping), and the server's RSS (API process and worker) at the start and
at the end. Lost must be 0 and RSS flat within 10%.

The data directory is a tmpfs (so the disk can be filled without touching the real one); where
mounting is not allowed the disk phases are skipped and the report says so.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.utils.images import face_jpeg  # noqa: E402
from tests.utils.server import Server  # noqa: E402

FINAL = ("task_postprocess_end", "task_cancel")


@dataclass
class Tally:
    """What the clients saw, shared between their threads."""

    accepted: set[str] = field(default_factory=set)
    final: dict[str, str] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.counts[name] += n


class Soak:
    """One server, its clients, and the faults, for `seconds`."""

    def __init__(
        self,
        root: Path,
        seconds: float,
        clients: int,
        disk: Path | None,
        every: tuple[float, float] = (120, 300),
    ) -> None:
        self.seconds = seconds
        #: Seconds between stops, and between disk fills.
        self.stop_every, self.fill_every = every
        self.clients = clients
        self.disk = disk
        data = (disk or root) / "s2v"
        env = {
            "S2V_ENGINE": "camera",
            "S2V_STOP_GRACE_SECONDS": "20",
            "S2V_MIN_FREE_MEGABYTES": "16",
            "S2V_MAX_ACTIVE_TASKS": "64",
        }
        self.server = Server(data, env=env, own_group=True, log_dir=root)
        self.tally = Tally()
        self.face = face_jpeg()
        self.stop = threading.Event()
        #: (incarnation, seconds since it started, MB) every 10 s.
        self.rss: list[tuple[int, float, float]] = []
        self.incarnation = 1
        self.started = time.monotonic()
        self.events: list[str] = []
        self.t0 = time.monotonic()
        self.verbose = bool(os.environ.get("SOAK_VERBOSE"))

    # -- the run ------------------------------------------------------------------------------

    def run(self) -> None:
        self.server.start()
        self.project = self.server.keys("soak")
        threads = [threading.Thread(target=self._client, args=(i,)) for i in range(self.clients)]
        for thread in threads:
            thread.start()
        threading.Thread(target=self._sample_rss, daemon=True).start()
        try:
            self._faults()
        finally:
            self.stop.set()
            for thread in threads:
                thread.join(120)
            self._drain()
            self.rss_end = self._rss()
            self.server.stop(timeout=60)

    def _faults(self) -> None:
        """Every `stop_every` seconds a stop and restart (SIGTERM, SIGHUP, a double signal in
        turn); every `fill_every` seconds the disk fills for 20 s."""
        kinds = [[signal.SIGTERM], [signal.SIGHUP], [signal.SIGTERM, signal.SIGINT]]
        n = 0
        next_stop = self.t0 + self.stop_every
        next_fill = self.t0 + self.fill_every * 2 / 3
        while time.monotonic() - self.t0 < self.seconds:
            now = time.monotonic()
            # No stop in the last 150 s: the run ends on a server old enough to be measured.
            if now >= next_stop and now - self.t0 < self.seconds - 150:
                self._restart(kinds[n % len(kinds)])
                n += 1
                next_stop = time.monotonic() + self.stop_every
            elif now >= next_fill and self.disk is not None:
                self._fill_and_drain()
                next_fill = time.monotonic() + self.fill_every
            time.sleep(1)

    def _restart(self, send: list[int]) -> None:
        assert self.server.proc is not None
        began = time.monotonic()
        for sig in send:
            os.killpg(self.server.proc.pid, sig)
            time.sleep(0.5)
        code = self.server.proc.wait(120)
        self.server.proc = None
        down = time.monotonic() - began
        self.server.start()
        self.incarnation += 1
        self.started = time.monotonic()
        names = "+".join(signal.Signals(s).name for s in send)
        self._event(f"{names}: stopped in {down:.1f} s (exit {code}), restarted")

    def _fill_and_drain(self) -> None:
        assert self.disk is not None
        filler = self.disk / "filler.bin"
        with filler.open("wb", buffering=0) as out:
            for size in (1 << 20, 4096):
                with contextlib.suppress(OSError):
                    while True:
                        out.write(b"\0" * size)
        time.sleep(1.5)  # readiness is checked at most once a second
        red = httpx.get(f"{self.server.url}/readyz", timeout=10)
        time.sleep(20)
        filler.unlink()
        self._event(f"disk full for 20 s (readyz {red.status_code}), drained")

    def _drain(self) -> None:
        """Wait (up to 5 minutes) for every accepted task to end."""
        deadline = time.monotonic() + 300
        for task_id in sorted(self.tally.accepted - set(self.tally.final), key=int):
            while time.monotonic() < deadline:
                task = self._detail(task_id)
                if task is not None and task["status"] in FINAL:
                    self.tally.final[task_id] = _outcome(task)
                    break
                time.sleep(0.5)

    # -- a client -----------------------------------------------------------------------------

    def _client(self, number: int) -> None:
        rng = random.Random(number)
        while not self.stop.is_set():
            task_id = self._submit(rng)
            if task_id is None:
                self.stop.wait(2)
                continue
            kill = rng.random() < 0.1
            task = self._follow(task_id, kill)
            if task is not None:
                self._delete(task_id)
            self.stop.wait(rng.uniform(0.5, 2.0))

    def _submit(self, rng: random.Random) -> str | None:
        files = {"inputImageFirst": ("face.jpg", self.face, "image/jpeg")}
        data = {"prompt": rng.choice(["She smiles", "He nods slowly", "turns her head"])}
        try:
            response = self.server.run(self.project, files=files, data=data)
        except httpx.HTTPError:
            self.tally.add("run: server unreachable")
            return None
        if response.status_code != 200:
            self.tally.add(f"run: HTTP {response.status_code}")
            return None
        task_id = response.json()["taskid"]
        with self.tally.lock:
            self.tally.accepted.add(task_id)
        return task_id

    def _follow(self, task_id: str, kill: bool) -> dict | None:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and not self.stop.is_set():
            task = self._detail(task_id)
            if task is not None:
                if task["status"] in FINAL:
                    with self.tally.lock:
                        self.tally.final[task_id] = _outcome(task)
                    return task
                if kill and task["status"] in ("task_start", "task_output"):
                    with contextlib.suppress(httpx.HTTPError):
                        self.server.post("/v1/Task/Kill", self.project, json={"taskid": task_id})
                    kill = False
                if random.random() < 0.1:
                    with contextlib.suppress(httpx.HTTPError):
                        self.server.post("/v1/Task/List", self.project, json={"limit": 20})
            time.sleep(0.5)
        return None

    def _detail(self, task_id: str) -> dict | None:
        try:
            response = self.server.post("/v1/Task/Detail", self.project, json={"taskid": task_id})
        except httpx.HTTPError:
            return None
        if response.status_code >= 500:
            self.tally.add(f"detail: HTTP {response.status_code}")
            return None
        return response.json()["tasklist"][0] if response.status_code == 200 else None

    def _delete(self, task_id: str) -> None:
        with contextlib.suppress(httpx.HTTPError):
            self.server.post("/v1/Task/InputOutputDelete", self.project, json={"taskid": task_id})

    # -- memory -------------------------------------------------------------------------------

    def _rss(self) -> float:
        """MB resident of the server process and its children (the engine worker)."""
        return sum(self._rss_by_process().values())

    def _rss_by_process(self) -> dict[str, float]:
        if self.server.proc is None:
            return {}
        try:
            root = psutil.Process(self.server.proc.pid)
            procs = {"api": root}
            for child in root.children(recursive=True):
                line = " ".join(child.cmdline())
                procs["tracker" if "resource_tracker" in line else "worker"] = child
            return {name: p.memory_info().rss / 1e6 for name, p in procs.items()}
        except psutil.Error:
            return {}

    def _sample_rss(self) -> None:
        while not self.stop.wait(10):
            parts = self._rss_by_process()
            mb = sum(parts.values())
            if mb:
                age = time.monotonic() - self.started
                self.rss.append((self.incarnation, age, mb))
                if self.verbose:
                    detail = ", ".join(f"{name} {v:.0f}" for name, v in parts.items())
                    print(f"rss run {self.incarnation} age {age:.0f} s: {detail}", flush=True)

    def rss_figures(self) -> tuple[float, float]:
        """RSS of the first server, and of the last one, at the same ages (from one minute into
        its life on): medians, since a sample taken while a video is being made holds its frames
        (about 40 MB more than between tasks). Restarts make the run's end a young process."""
        first_run = [mb for n, age, mb in self.rss if n == 1 and age >= 60]
        last = max((n for n, _, _ in self.rss), default=1)
        last_run = [mb for n, age, mb in self.rss if n == last and age >= 60]
        if not first_run or not last_run:
            return 0.0, 0.0
        return statistics.median(first_run), statistics.median(last_run)

    def growth_within_runs(self) -> float:
        """The largest change of one server's median RSS from its first to its second half, %."""
        worst = 0.0
        for n in {n for n, _, _ in self.rss}:
            samples = [mb for m, age, mb in self.rss if m == n and age >= 60]
            if len(samples) >= 4:
                half = len(samples) // 2
                early, late = statistics.median(samples[:half]), statistics.median(samples[half:])
                worst = max(worst, (late - early) / early * 100, key=abs)
        return worst

    def _event(self, text: str) -> None:
        line = f"{time.monotonic() - self.t0:6.0f} s  {text}"
        self.events.append(line)
        print(line, flush=True)

    # -- the report ---------------------------------------------------------------------------

    def report(self, minutes: float) -> str:
        accepted = len(self.tally.accepted)
        outcomes = Counter(self.tally.final.values())
        lost = accepted - len(self.tally.final)
        start, end = self.rss_figures()
        change = (end - start) / start * 100 if start else 0.0
        lines = [
            f"Soak: {minutes:g} min, {self.clients} clients, camera engine, "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
            + ("" if self.disk else " (no tmpfs: disk phases skipped)"),
            "",
            "| figure | value |",
            "|---|---|",
            f"| tasks accepted | {accepted} |",
            f"| finished (video) | {outcomes['done']} |",
            f"| finished (killed by the client) | {outcomes['killed']} |",
            f"| failed | {outcomes['failed']} |",
            f"| lost (accepted, never final) | {lost} |",
            f"| stops and restarts | {sum('restarted' in e for e in self.events)} |",
            f"| disk filled and drained | {sum('disk full' in e for e in self.events)} |",
        ]
        for name, count in sorted(self.tally.counts.items()):
            lines.append(f"| {name} | {count} |")
        lines += [
            f"| RSS, server and worker, first server (median from 60 s) | {start:.0f} MB |",
            f"| RSS, server and worker, last server (median from 60 s) | {end:.0f} MB "
            f"({change:+.1f}%) |",
            f"| RSS, server and worker, at the very end | {self.rss_end:.0f} MB |",
            f"| largest change within one server's life (median, 1st vs 2nd half) | "
            f"{self.growth_within_runs():+.1f}% |",
            "",
            *self.events,
        ]
        return "\n".join(lines)


def _outcome(task: dict) -> str:
    if task["status"] == "task_cancel":
        return "killed"
    return "done" if task["pexit"] == "0" else "failed"


@contextlib.contextmanager
def tmpfs(root: Path, size: str = "256m") -> Iterator[Path | None]:
    path = root / "disk"
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    try:
        yield path if mounted.returncode == 0 else None
    finally:
        if mounted.returncode == 0:
            subprocess.run(["umount", "-l", str(path)], check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", 30)))
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--stop-every", type=float, default=120, help="seconds between stops")
    parser.add_argument("--fill-every", type=float, default=300, help="seconds between fills")
    args = parser.parse_args()
    every = (args.stop_every, args.fill_every)
    with tempfile.TemporaryDirectory(prefix="s2v-soak-") as tmp, tmpfs(Path(tmp)) as disk:
        soak = Soak(Path(tmp), args.minutes * 60, args.clients, disk, every)
        try:
            soak.run()
        finally:
            print(soak.report(args.minutes), flush=True)
        lost = len(soak.tally.accepted) - len(soak.tally.final)
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
