"""The store's tables. Table and column names live here and nowhere else."""

from __future__ import annotations

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from subject2video.tasks.status import Outcome, Status

#: Status → the Detail field holding the time the task entered it.
TIME_FIELDS: dict[Status, str] = {
    Status.accept: "accepttime",
    Status.preprocess_start: "preprocessstarttime",
    Status.preprocess_end: "preprocessendtime",
    Status.assign: "assigntime",
    Status.start: "starttime",
    Status.end: "endtime",
    Status.postprocess_start: "postprocessstarttime",
    Status.postprocess_end: "postprocessendtime",
    Status.cancel: "canceltime",
}


class Base(DeclarativeBase):
    pass


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    apikey: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    #: None for a key-only project (no signature). With S2V_MASTER_KEY set, a Fernet token
    #: ("fernet:...", tasks/keyring.py); else the secret itself.
    apisecret: Mapped[str | None] = mapped_column(String(512), nullable=True)
    createtime: Mapped[float] = mapped_column(Float)
    #: Where the project's webhook events go (None: nowhere), and the `whsec_` secret they are
    #: signed with (Standard Webhooks; sealed like `apisecret`).
    webhook_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    webhook_secret: Mapped[str | None] = mapped_column(String(512), nullable=True)
    #: When `s2v keys revoke` stopped the project's keys (None: active). Tasks and outputs stay.
    revokedtime: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: When a request last presented one of its keys (to within the key cache's lifetime).
    lastusedtime: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: The key and secret that `s2v keys rotate --grace` replaced, accepted until `previous_until`.
    previous_apikey: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    previous_apisecret: Mapped[str | None] = mapped_column(String(512), nullable=True)
    previous_until: Mapped[float | None] = mapped_column(Float, nullable=True)


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_project_id_id", "project_id", "id"),
        Index("ix_tasks_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    #: The socket access token as the store keeps it: sealed like the API secrets with
    #: S2V_MASTER_KEY ("fernet:...", tasks/keyring.py), else in clear. Wiro's Detail shows it again.
    socketaccesstoken: Mapped[str] = mapped_column(String(256))
    #: SHA-256 of the token (store.token_digest): how a task is found by its token, and the key
    #: its events are published under, so that neither the store nor the bus holds the token.
    token_digest: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    modelslugowner: Mapped[str] = mapped_column(String(100))
    modelslugproject: Mapped[str] = mapped_column(String(200))
    engine: Mapped[str] = mapped_column(String(50))
    #: The inputs as the caller gave them (an upload appears as its stored URL).
    parameters: Mapped[dict] = mapped_column(JSON)
    #: Where an uploaded input image was stored, relative to the data directory.
    input_path: Mapped[str | None] = mapped_column(String(500), nullable=True)
    callbackurl: Mapped[str] = mapped_column(Text, default="")
    #: The dialect whose callback rule applies (tasks/callbacks.py; None: the default rule, one
    #: signed final POST). A dialect names its own value; the domain never reads it.
    callback_dialect: Mapped[str | None] = mapped_column(String(20), nullable=True)
    #: The events the task's webhook asked for, comma-separated (Replicate's
    #: `webhook_events_filter`); None: its dialect's default.
    callback_events: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(40), default=Status.queue.value)
    pexit: Mapped[str | None] = mapped_column(String(4), nullable=True)
    debugoutput: Mapped[str] = mapped_column(Text, default="")
    debugerror: Mapped[str] = mapped_column(Text, default="")
    #: Why the task ended without a video (errors.Failure), so no dialect parses `debugerror`.
    failure: Mapped[str | None] = mapped_column(String(20), nullable=True)
    #: How many times a worker claimed it (a claim after a worker died is a retry).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str] = mapped_column(String(200), default="")
    #: A token set at each claim: only the claim's holder may move the task on, so a worker that
    #: lost its task (its server restarted, the task was requeued) can no longer touch it.
    claim: Mapped[str] = mapped_column(String(32), default="")
    #: Latest progress message (the task_output event), for late readers.
    progress: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    createtime: Mapped[float] = mapped_column(Float)
    accepttime: Mapped[float | None] = mapped_column(Float, nullable=True)
    preprocessstarttime: Mapped[float | None] = mapped_column(Float, nullable=True)
    preprocessendtime: Mapped[float | None] = mapped_column(Float, nullable=True)
    assigntime: Mapped[float | None] = mapped_column(Float, nullable=True)
    starttime: Mapped[float | None] = mapped_column(Float, nullable=True)
    endtime: Mapped[float | None] = mapped_column(Float, nullable=True)
    postprocessstarttime: Mapped[float | None] = mapped_column(Float, nullable=True)
    postprocessendtime: Mapped[float | None] = mapped_column(Float, nullable=True)
    canceltime: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: Seconds a worker held the task, from its claim to the final status (usage, Detail's cost).
    engine_seconds: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    #: When a caller deleted the task: its outputs and input are gone, and the dialects that
    #: delete objects answer 404 for it; the others still show it (None: not deleted).
    deletedtime: Mapped[float | None] = mapped_column(Float, nullable=True)

    @property
    def outcome(self) -> Outcome:
        """How the task stands (store rows that are not Tasks: `Outcome.of(row)`)."""
        return Outcome.of(self)


class Output(Base):
    __tablename__ = "outputs"

    #: 32 hex characters.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    contenttype: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    #: Storage key, relative to the storage root.
    key: Mapped[str] = mapped_column(String(500))
    #: The secret part of the output's download URL (`/v1/File/{id}/{accesskey}/{name}`) as the
    #: store keeps it: sealed like the API secrets with S2V_MASTER_KEY ("fernet:...",
    #: tasks/keyring.py), else in clear. Every dialect shows it again in its URLs.
    accesskey: Mapped[str] = mapped_column(String(256))
    #: SHA-256 of the access key (store.token_digest): what a download is checked against, so
    #: that serving a file opens no sealed value.
    accesskey_digest: Mapped[str] = mapped_column(String(64))
    addedtime: Mapped[float] = mapped_column(Float)
    expiretime: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: Frame size of a video output (None for outputs stored before these columns existed).
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)


#: The event of a final callback or webhook (every dialect's one delivery before Replicate's).
COMPLETED = "completed"


class Delivery(Base):
    """One callback to deliver: created with the task's final status (or, for the webhooks that
    announce more, with the event), kept until delivered."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_state_due", "state", "due"),
        UniqueConstraint("task_id", "event", name="uq_deliveries_task_event"),
    )

    #: The Standard Webhooks webhook-id, the same on every retry.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: One delivery per task and event: a task reaches exactly one final status (`completed`).
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    #: What it announces: `completed` (the final status: every dialect's callback), or another
    #: event a dialect's webhook asked for (Replicate's `start`, `logs`, `output`).
    event: Mapped[str] = mapped_column(String(20), default=COMPLETED, server_default=COMPLETED)
    url: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due: Mapped[float] = mapped_column(Float)
    last_error: Mapped[str] = mapped_column(Text, default="")
    #: Who is delivering it now, and until when (a lease, so that one process delivers it).
    lease_until: Mapped[float] = mapped_column(Float, default=0.0)


class Nonce(Base):
    """Nonces seen under the strict policy; a (key, nonce) pair is accepted once."""

    __tablename__ = "nonces"

    apikey: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(40), primary_key=True)
    seen: Mapped[float] = mapped_column(Float, index=True)


def elapsed_seconds(task: Task) -> float:
    """Seconds from the engine's start (or the claim) to the task's end; 0 until it ended."""
    start = task.starttime or task.accepttime
    end = task.endtime or task.postprocessendtime or task.canceltime
    if not start or not end:
        return 0.0
    return max(0.0, end - start)
