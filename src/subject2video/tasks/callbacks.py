"""Callbacks: a final task's Detail body POSTed to its callbackUrl, signed as Standard Webhooks.

A delivery is a row in the store, written when the task reaches its final status, so a restart loses
none; one process at a time holds a lease on it, so it is delivered by exactly one process. Retries
keep the same webhook-id, with exponential backoff.

Deliveries run concurrently (`MAX_IN_FLIGHT` threads), at most `MAX_PER_HOST` at a time to one
receiver host, and each attempt has a total deadline (connect, headers and body together), so a
slow or trickling receiver delays only its own callbacks, and everyone else's retries keep their
schedule.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from subject2video.config import Settings
from subject2video.errors import FetchError
from subject2video.media.fetch import FetchPolicy, post
from subject2video.tasks import openai_webhooks
from subject2video.tasks.events import Event
from subject2video.tasks.keyring import Keyring
from subject2video.tasks.models import Delivery
from subject2video.tasks.store import Store, token
from subject2video.tasks.wire import task_dict

logger = logging.getLogger(__name__)

LEASE_SECONDS = 60.0
#: Deliveries in flight at once, in all; and to one receiver host.
MAX_IN_FLIGHT = 16
MAX_PER_HOST = 2
#: A hub listener (a dialect records its deliveries from the task's events).
EventListener = Callable[[Event], None]
#: The dialects whose deliveries are signed with the project's `whsec_` webhook secret (Standard
#: Webhooks); the others' with the project's API secret (Wiro's rule).
_WEBHOOK_SECRET_DIALECTS: set[str] = {openai_webhooks.DIALECT}


def sign_with_webhook_secret(dialect: str) -> None:
    """Sign `dialect`'s deliveries with the project's `whsec_` secret."""
    _WEBHOOK_SECRET_DIALECTS.add(dialect)


def sign(secret: str | bytes, webhook_id: str, timestamp: int, body: str) -> str:
    """The webhook-signature header: `v1,` + base64 HMAC-SHA256 over `id.timestamp.body`."""
    message = f"{webhook_id}.{timestamp}.{body}".encode()
    key = secret if isinstance(secret, bytes) else secret.encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def enqueue(store: Store, settings: Settings, task_id: int) -> bool:
    """Record the delivery of a final task's Wiro callback, if it has a callbackUrl; idempotent."""
    task = store.get(task_id)
    if task is not None and task.callbackurl and task.callback_dialect == openai_webhooks.DIALECT:
        return openai_webhooks.enqueue(store, task)
    if task is None or not task.callbackurl or task.callback_dialect is not None:
        # Tasks of another dialect (MiniMax) have their own callbacks.
        return False
    outputs = store.outputs([task.id])[task.id]
    detail = {
        "total": "1",
        "errors": [],
        "tasklist": [task_dict(task, outputs, settings.base_url, settings.price_per_second)],
        "result": True,
    }
    delivery = Delivery(
        id=f"msg_{token(27)}",
        task_id=task.id,
        url=task.callbackurl,
        body=json.dumps(detail, separators=(",", ":")),
        due=time.time(),
    )
    created = store.add_delivery(delivery)
    if created:
        logger.info("callback queued", extra={"task_id": task.id, "webhook_id": delivery.id})
    return created


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


class CallbackDeliverer:
    """Delivers due callbacks from a background thread."""

    def __init__(self, settings: Settings, store: Store, *, interval: float = 0.2) -> None:
        self.settings = settings
        self.store = store
        self.interval = interval
        self.policy = FetchPolicy.from_settings(settings)
        #: Callbacks are signed with the project's secret, which may be sealed at rest.
        self.keyring = Keyring.from_settings(settings)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(MAX_IN_FLIGHT, thread_name_prefix="s2v-callback")
        self._lock = threading.Lock()
        #: Deliveries in flight, by receiver host.
        self._busy: Counter[str] = Counter()

    def start(self) -> None:
        """Record callbacks a crash left unrecorded, then deliver from a background thread."""
        for task_id in self.store.undelivered_final_tasks():
            logger.info("callback recorded after a restart", extra={"task_id": task_id})
            enqueue(self.store, self.settings, task_id)
        self._thread = threading.Thread(target=self._loop, name="s2v-callbacks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        # Deliveries in flight end within their deadline; one cut short is retried after a
        # restart under the same webhook-id, once its lease ends.
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.deliver_due()
            except Exception:
                logger.exception("callback delivery loop failed; retrying")

    def deliver_due(self) -> int:
        """Start every due delivery there is room for; returns how many were started."""
        with self._lock:
            room = MAX_IN_FLIGHT - sum(self._busy.values())
            planned = Counter(self._busy)
        if room <= 0:
            return 0

        def accept(delivery: Delivery) -> bool:
            host = _host(delivery.url)
            if planned[host] >= MAX_PER_HOST:
                return False  # that receiver is busy: its callbacks wait, nobody else's
            planned[host] += 1
            return True

        due = self.store.lease_due_deliveries(
            time.time(), lease_seconds=LEASE_SECONDS, limit=room, accept=accept
        )
        for delivery in due:
            host = _host(delivery.url)
            with self._lock:
                self._busy[host] += 1
            self._pool.submit(self._deliver_in_pool, delivery, host)
        return len(due)

    def _deliver_in_pool(self, delivery: Delivery, host: str) -> None:
        try:
            self._deliver(delivery)
        except Exception:  # the store failed: the lease ends and the delivery is tried again
            logger.exception("callback delivery failed", extra={"task_id": delivery.task_id})
        finally:
            with self._lock:
                self._busy[host] -= 1
                if self._busy[host] <= 0:
                    del self._busy[host]

    def _deliver(self, delivery: Delivery) -> None:
        task = self.store.get(delivery.task_id)
        project = self.store.project(task.project_id) if task else None
        stored = self.keyring.open(project.apisecret) if project else None
        secret: str | bytes = (stored or project.apikey) if project else ""
        if task is not None and task.callback_dialect in _WEBHOOK_SECRET_DIALECTS:
            secret = openai_webhooks.signing_key(project)
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "user-agent": "subject2video-webhooks/1",
            "webhook-id": delivery.id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, delivery.id, timestamp, delivery.body),
        }
        attempts = delivery.attempts + 1
        extra = {"task_id": delivery.task_id, "webhook_id": delivery.id, "attempt": attempts}
        try:
            status = post(
                delivery.url,
                delivery.body.encode(),
                headers,
                self.policy,
                timeout=self.settings.callback_timeout_seconds,
            )
            error = "" if 200 <= status < 300 else f"receiver answered HTTP {status}"
        except FetchError as exc:
            error = exc.message
        if not error:
            logger.info("callback delivered", extra=extra)
            self.store.finish_delivery(delivery.id, state="delivered", attempts=attempts, due=0)
            return
        delays = self.settings.callback_delays()
        if attempts > len(delays):
            logger.warning("callback given up: %s", error, extra=extra)
            self.store.finish_delivery(
                delivery.id, state="failed", attempts=attempts, due=0, error=error
            )
            return
        due = time.time() + delays[attempts - 1]
        logger.info("callback failed, will retry: %s", error, extra=extra)
        self.store.finish_delivery(
            delivery.id, state="pending", attempts=attempts, due=due, error=error
        )
