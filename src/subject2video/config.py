"""Settings: one validated object, read from S2V_* environment variables and CLI flags."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, field_validator
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
    #: Base URL put into output URLs; default: the URL the server listens on.
    public_url: str | None = None

    engine: str = "portrait"
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

    kill_grace_seconds: float = Field(10.0, ge=0)
    task_timeout_seconds: float = Field(600.0, gt=0)
    #: How often a task whose worker died is run again before it fails.
    task_max_attempts: int = Field(2, ge=1)

    #: Seconds after which outputs expire and are deleted; 0 keeps them forever.
    output_ttl_seconds: int = Field(0, ge=0)

    callback_max_attempts: int = Field(8, ge=1)
    callback_backoff_seconds: float = Field(5.0, gt=0)
    callback_backoff_factor: float = Field(3.0, ge=1)
    callback_timeout_seconds: float = Field(10.0, gt=0)

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
