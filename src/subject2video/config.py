"""Settings: one validated object, read from S2V_* environment variables and CLI flags."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class NoncePolicy(StrEnum):
    #: Check the signature only, so one NONCE/SIGNATURE pair may be reused (Wiro's documented flow).
    compat = "compat"
    #: Require a unix-time nonce within the skew window and accept each (key, nonce) once.
    strict = "strict"


class Settings(BaseSettings):
    """Every operator setting of the service. Built once at start-up and passed down."""

    model_config = SettingsConfigDict(env_prefix="S2V_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    data_dir: Path = Path(".s2v")
    #: SQLAlchemy URL of the task store; default: SQLite in the data directory.
    database_url: str | None = None
    #: Celery broker; none: `s2v serve` runs a local worker. `redis://...`: scale-out.
    broker_url: str | None = None
    #: Redis for events, kills and heartbeats; default: the broker URL.
    redis_url: str | None = None
    #: Where inputs and outputs live: a directory (default: the data directory) or s3://bucket/prefix.
    storage_url: str | None = None
    #: Endpoint of an S3-compatible store (MinIO, Ceph...); default: AWS.
    s3_endpoint_url: str | None = None
    #: Serve S3 outputs by a 307 to a presigned URL (true) or proxy them through the API (false).
    s3_presign: bool = True
    #: FastAPI's native OpenTelemetry (traces, metrics, logs through the global providers). Off by
    #: default: it asks the providers on every request, 9% of a Task/Detail (README, API
    #: performance); on, an operator's OpenTelemetry set-up sees every request.
    opentelemetry: bool = False
    s3_presign_seconds: int = Field(300, ge=1)
    #: Seconds a worker's heartbeat lives; a task whose worker's heartbeat ends is run again.
    worker_heartbeat_seconds: float = Field(5.0, gt=0)
    #: Seconds a task sent to the broker may stay unclaimed before it is sent again (a lost
    #: message; tasks/dispatch/sender.py).
    resubmit_after_seconds: float = Field(10.0, gt=0)
    #: Base URL put into output URLs; default: the URL the server listens on.
    public_url: str | None = None

    engine: str = "portrait"
    #: "subject": a face small in the photo is framed as a medium close-up from the photo's own
    #: pixels (media/framing.py); "photo": the photo's own framing is kept.
    framing: Literal["subject", "photo"] = "subject"
    #: Fernet key that seals API secrets in the store (tasks/keyring.py); none: in clear.
    master_key: SecretStr | None = None
    #: Price per engine second, for Detail's `cps` and `totalcost` and `s2v usage`.
    price_per_second: float = Field(0.0, ge=0)

    nonce_policy: NoncePolicy = NoncePolicy.compat
    nonce_skew_seconds: int = Field(300, ge=1)

    #: Hosts, IP addresses or CIDR networks that the guarded fetcher may reach although not public.
    fetch_allow_hosts: str = ""
    fetch_max_bytes: int = Field(20 * 1024 * 1024, ge=1)
    fetch_timeout_seconds: float = Field(20.0, gt=0)
    fetch_max_redirects: int = Field(5, ge=0)

    max_body_bytes: int = Field(25 * 1024 * 1024, ge=1024)
    #: Per-project limit on tasks that are not yet final (error code 96, HTTP 429).
    max_active_tasks: int = Field(16, ge=1)
    #: Per-project limit on running tasks (0: none; in scale-out, running or sent to the broker);
    #: queued tasks are taken round-robin across projects either way (tasks/dispatch/fair.py).
    max_running_per_project: int = Field(0, ge=0)

    #: Engine processes of `s2v serve` (embedded deployment); 0: the engine's default
    #: (CPU engines: cores / the engine's cores per task; GPU engines: one per visible GPU).
    workers: int = Field(0, ge=0, le=256)
    #: The GPU a worker process is pinned to (its CUDA_VISIBLE_DEVICES); set per child by the
    #: dispatcher, not by the operator.
    worker_device: str | None = None

    kill_grace_seconds: float = Field(10.0, ge=0)
    #: Seconds a stop (SIGTERM, SIGINT, SIGHUP) waits for the running task to finish before it
    #: puts the task back in the queue; default: the task timeout. A second signal stops at once.
    stop_grace_seconds: float | None = Field(None, ge=0)
    #: Under this much free space on the data directory's disk the server is not ready: Run
    #: answers 503 and queued tasks wait.
    min_free_megabytes: int = Field(100, ge=0)
    #: Seconds a database write waits for another writer's lock before it fails (503).
    db_busy_timeout_seconds: float = Field(30.0, gt=0)
    task_timeout_seconds: float = Field(600.0, gt=0)
    #: How often a task whose worker died is run again before it fails.
    task_max_attempts: int = Field(2, ge=1)

    #: Seconds after which outputs expire and are deleted; 0 keeps them forever.
    output_ttl_seconds: int = Field(0, ge=0)

    callback_max_attempts: int = Field(8, ge=1)
    callback_backoff_seconds: float = Field(5.0, gt=0)
    callback_backoff_factor: float = Field(3.0, ge=1)
    callback_timeout_seconds: float = Field(10.0, gt=0)

    #: The HTTP/1.1 implementation the server runs: httptools (default) or h11 (pure Python).
    http: str = Field("httptools", pattern="^(httptools|h11)$")

    log_format: str = Field("text", pattern="^(text|json)$")
    log_level: str = "INFO"

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 's2v.db'}"

    @property
    def events_url(self) -> str | None:
        """The Redis URL for events, kills and heartbeats; None in the embedded deployment."""
        return self.redis_url or self.broker_url

    @property
    def stop_grace(self) -> float:
        """Seconds a stop lets the running task finish."""
        if self.stop_grace_seconds is None:
            return self.task_timeout_seconds
        return self.stop_grace_seconds

    @property
    def visibility_timeout(self) -> int:
        """Broker visibility timeout: above the longest task, so a running task is not resent."""
        return int(self.task_timeout_seconds + self.kill_grace_seconds) * 2 + 60

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"

    @property
    def allow_hosts(self) -> list[str]:
        return [h.strip() for h in self.fetch_allow_hosts.split(",") if h.strip()]

    def callback_delays(self) -> list[float]:
        """Seconds to wait before each retry of a callback delivery."""
        base, factor = self.callback_backoff_seconds, self.callback_backoff_factor
        return [base * factor**i for i in range(self.callback_max_attempts - 1)]
