"""The scale-out dispatcher: task ids go to Celery queues on Redis, one queue per engine.

The API process only sends ids (`send_task`, so it never imports engine code); `s2v worker`
processes (see `celery_worker`) run them. What is sent, and when, the fair sender decides
(sender.py): one replica at a time sends, round-robin across projects, only while a worker slot is
free, so Celery's first-come order never decides between projects. Celery is configured for long
GPU tasks: one task at a time (solo pool, prefetch 1), acknowledged after it ran (acks late,
reject on worker lost), and a broker visibility timeout above the longest task so a running task
is not handed out twice. A duplicate delivery is harmless anyway: the runner's claim is a
compare-and-set in the store.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery

from subject2video.config import Settings
from subject2video.tasks.bus import RedisBus
from subject2video.tasks.dispatch.sender import FairSender
from subject2video.tasks.reaper import Reaper
from subject2video.tasks.store import Store

logger = logging.getLogger(__name__)

RUN_TASK = "s2v.run"


def queue_name(engine: str) -> str:
    """The queue of an engine's tasks, so GPU and CPU workers can take different engines."""
    return f"s2v.{engine}"


def make_celery(settings: Settings) -> Celery:
    """The Celery app both sides share: broker Redis, late acks, prefetch 1, routes by engine."""
    if not settings.broker_url:
        raise ValueError("S2V_BROKER_URL is not set: the scale-out deployment needs a broker")
    app = Celery("subject2video", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_ignore_result=True,
        task_default_queue=queue_name(settings.engine),
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout,
            "socket_timeout": 5,
            "socket_connect_timeout": 5,
        },
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
        worker_cancel_long_running_tasks_on_connection_loss=False,
    )
    return app


class CeleryDispatcher:
    """Stores nothing itself: wakes the fair sender, which sends to the engine's queue; a kill is
    published to every worker."""

    def __init__(
        self, settings: Settings, store: Store, bus: RedisBus, *, reap: bool = True
    ) -> None:
        self.settings = settings
        self.store = store
        self.bus = bus
        self.app = make_celery(settings)
        self.sender = FairSender(settings, store, bus, self._send, queue_of=queue_name)
        self.reaper = (
            Reaper(settings, store, bus, self.resend, resend_unsent=False) if reap else None
        )

    def start(self) -> None:
        self.sender.start()
        if self.reaper is not None:
            self.reaper.start()

    def stop(self) -> None:
        if self.reaper is not None:
            self.reaper.stop()
        self.sender.stop()

    def is_ready(self) -> bool:
        """Always: the store keeps what is submitted until a worker slot frees, and whichever
        replica holds the dispatch lease sends it then."""
        return True

    def submit(self, task_id: int) -> None:
        """`task_id` is stored and its input too: the fair sender sends it when its turn comes."""
        self.sender.wake()

    def resend(self, task_id: int) -> None:
        """Send `task_id` again (its worker died): it waits its turn like a new task."""
        self.bus.clear_sent(task_id)
        self.sender.wake()

    def kill(self, task_id: int) -> None:
        """The store already says task_cancel; tell the worker that holds it at once."""
        self.bus.kill(task_id)

    def _send(self, task_id: int, engine: str) -> bool:
        """Put `task_id` on `engine`'s queue; False if the broker is away (it stays queued in
        the store and is sent at a later pass)."""
        try:
            self.app.send_task(RUN_TASK, args=(task_id,), queue=queue_name(engine))
        except Exception as exc:  # kombu raises many kinds; the task stays queued in the store
            logger.warning("could not send task: %s", exc, extra={"task_id": task_id})
            return False
        self.bus.mark_sent(task_id, self.settings.visibility_timeout)
        return True


def worker_argv(name: str, queues: list[str], loglevel: str) -> list[str]:
    """The arguments of a solo-pool Celery worker that takes one task at a time."""
    return [
        "worker",
        "--pool=solo",
        "--concurrency=1",
        "--prefetch-multiplier=1",
        f"--queues={','.join(queues)}",
        f"--hostname={name}",
        f"--loglevel={loglevel}",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]


def describe(app: Celery) -> dict[str, Any]:
    """The settings that matter for long tasks, for logs and tests."""
    keys = ("task_acks_late", "worker_prefetch_multiplier", "task_reject_on_worker_lost")
    return {k: app.conf[k] for k in keys} | {
        "visibility_timeout": app.conf.broker_transport_options["visibility_timeout"]
    }
