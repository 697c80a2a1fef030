"""The scale-out deployment for tests: a private Redis, a fresh PostgreSQL database, `s2v worker`s.

The commands are docs/deploy.md's: `s2v db upgrade`, `s2v keys create`, `s2v serve` per replica and
`s2v worker` per GPU, all with the same S2V_DATABASE_URL, S2V_BROKER_URL and S2V_STORAGE_URL.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.utils.server import REPO, S2V, free_port

NO_SAVE = ("--save", "", "--appendonly", "no")
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def need_services() -> None:
    """Skip (with the reason) only where Redis or PostgreSQL cannot be had on this machine."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed: the scale-out tests need it")
    if not _reachable("127.0.0.1", 5432):
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432: run .ci/run to start it")


@dataclass
class Redis:
    """A private redis-server with no persistence, so a restart loses everything it held."""

    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> Redis:
        self.proc = subprocess.Popen(
            [*("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"), *NO_SAVE],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not _reachable("127.0.0.1", self.port):
            if time.monotonic() > deadline:
                raise TimeoutError("redis-server did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database for one test session, dropped afterwards; yields its SQLAlchemy URL."""
    import psycopg

    name = f"s2v_test_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def s2v_env(env: dict[str, str]) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": f"{REPO / 'src'}:{REPO}", **env}


def s2v(args: list[str], env: dict[str, str]) -> str:
    """Run an `s2v` command to its end; returns its output."""
    out = subprocess.run([*S2V, *args], env=s2v_env(env), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


@dataclass
class Worker:
    """One `s2v worker` process."""

    data_dir: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    def start(self) -> Worker:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / f"worker-{secrets.token_hex(3)}.log"
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [*S2V, "worker", "--concurrency", "1", "--data-dir", str(self.data_dir)],
                env=s2v_env(self.env),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
            )
        return self

    def wait_ready(self, timeout: float = 90) -> None:
        """Wait until the engine child has loaded (its "worker ready" line)."""
        deadline = time.monotonic() + timeout
        while "worker ready" not in self.log():
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"worker exited: {self.log()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"worker not ready: {self.log()}")
            time.sleep(0.2)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path else ""
