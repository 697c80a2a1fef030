"""Callbacks: when a task ends, a body POSTed to its callback URL, signed as Standard Webhooks.

Whose body and whose key is the dialect's: a dialect registers a `CallbackRule` under the name its
tasks carry in `callback_dialect` (api/registry.py does, for every dialect); a task whose dialect
has no rule gets no delivery here (a dialect may follow the task's events instead). The
body is rendered once, on the first attempt, and kept: every retry sends the same bytes.

A delivery is a row in the store, written when the task reaches its final status, so a restart loses
none; one process at a time holds a lease on it, so it is delivered by exactly one process. Retries
keep the same webhook-id, with exponential backoff.

Deliveries run concurrently (`MAX_IN_FLIGHT` threads), and each attempt has a total deadline
(connect, headers and body together). Every dialect's deliveries in a process share one
`CallbackLimits`: at most `MAX_PER_RECEIVER` at a time to one receiver (scheme, host and port) and
`MAX_PER_PROJECT` for one project, so a slow or trickling receiver delays only its own project's
callbacks, and everyone else's (and their retries) keep their schedule.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from subject2video.config import Settings
from subject2video.errors import FetchError, StorageError
from subject2video.media.fetch import FetchPolicy, post
from subject2video.tasks.keyring import Keyring
from subject2video.tasks.models import Delivery, Output, Project, Task
from subject2video.tasks.store import Store, token

logger = logging.getLogger(__name__)

LEASE_SECONDS = 60.0
#: Deliveries in flight at once, in all; to one receiver (scheme, host, port); for one project.
MAX_IN_FLIGHT = 16
MAX_PER_RECEIVER = 2
MAX_PER_PROJECT = 4


def webhook_secret_key(project: Project | None, keyring: Keyring | None = None) -> bytes:
    """The HMAC key of a project's `whsec_` webhook secret (its base64 part, decoded), for the
    dialects whose webhooks are signed with it (Standard Webhooks); `keyring` opens it where it
    is sealed at rest."""
    stored = project.webhook_secret if project is not None else None
    secret = (keyring.open(stored) if keyring is not None else stored) or ""
    try:
        return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        return secret.encode()


def sign(secret: str | bytes, webhook_id: str, timestamp: int, body: str) -> str:
    """The webhook-signature header: `v1,` + base64 HMAC-SHA256 over `id.timestamp.body`."""
    message = f"{webhook_id}.{timestamp}.{body}".encode()
    key = secret if isinstance(secret, bytes) else secret.encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


class CallbackRule(Protocol):
    """A dialect's callbacks: the body a final task sends, and the key it is signed with."""

    def body(self, task: Task, outputs: list[Output], settings: Settings) -> str | None:
        """The body to POST (None: this task gets no callback)."""

    def key(self, project: Project, keyring: Keyring) -> str | bytes:
        """The HMAC key of the signature."""


#: Rules by the name in the task's `callback_dialect` (None: the default rule's tasks).
RULES: dict[str | None, CallbackRule] = {}


def register(dialect: str | None, rule: CallbackRule) -> None:
    """Make `rule` the callbacks of tasks whose `callback_dialect` is `dialect`."""
    RULES[dialect] = rule


def enqueue(store: Store, settings: Settings, task_id: int) -> bool:
    """Record that a final task with a callback URL owes a callback; idempotent (one per task).
    The deliverer renders its body by the task's dialect rule."""
    task = store.get(task_id)
    if task is None or not task.callbackurl:
        return False
    delivery = Delivery(
        id=f"msg_{token(27)}", task_id=task.id, url=task.callbackurl, body="", due=time.time()
    )
    created = store.add_delivery(delivery)
    if created:
        logger.info("callback queued", extra={"task_id": task.id, "webhook_id": delivery.id})
    return created


Receiver = tuple[str, str, int]


def receiver(url: str) -> Receiver:
    """The receiver a callback URL names: scheme, host and port (the scheme's default if none)."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port or (443 if scheme == "https" else 80)
        return scheme, (parts.hostname or "").lower(), port
    except ValueError:
        return "", "", 0


@dataclass(frozen=True)
class Slot:
    """A delivery's place under the limits, given back with `CallbackLimits.release`."""

    receiver: Receiver
    project_id: int


class CallbackLimits:
    """How many deliveries are in flight, by receiver and by project: one count per process,
    shared by every dialect's deliverer (Wiro's and OpenAI's here, MiniMax's in
    minimax_callbacks.py)."""

    def __init__(
        self, per_receiver: int = MAX_PER_RECEIVER, per_project: int = MAX_PER_PROJECT
    ) -> None:
        self.per_receiver = per_receiver
        self.per_project = per_project
        self._lock = threading.Lock()
        self._receivers: Counter[Receiver] = Counter()
        self._projects: Counter[int] = Counter()

    def acquire(self, url: str, project_id: int) -> Slot | None:
        """A slot for a delivery to `url` for `project_id`, or None while either is at its limit
        (the delivery waits; nobody else's does)."""
        slot = Slot(receiver(url), project_id)
        with self._lock:
            if self._receivers[slot.receiver] >= self.per_receiver:
                return None
            if self._projects[project_id] >= self.per_project:
                return None
            self._receivers[slot.receiver] += 1
            self._projects[project_id] += 1
        return slot

    def release(self, slot: Slot) -> None:
        with self._lock:
            self._receivers[slot.receiver] -= 1
            if self._receivers[slot.receiver] <= 0:
                del self._receivers[slot.receiver]
            self._projects[slot.project_id] -= 1
            if self._projects[slot.project_id] <= 0:
                del self._projects[slot.project_id]

    def in_flight(self) -> int:
        with self._lock:
            return sum(self._projects.values())


#: The limits of this process (every deliverer uses them unless given its own).
LIMITS = CallbackLimits()


class CallbackDeliverer:
    """Delivers due callbacks from a background thread."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        interval: float = 0.2,
        limits: CallbackLimits = LIMITS,
    ) -> None:
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
        self.limits = limits
        #: Deliveries this deliverer has in flight.
        self._busy = 0
        #: Each task's project (it never changes), so that choosing a delivery costs no query.
        self._projects: dict[int, int] = {}
        #: The store's last failure, logged once until it changes.
        self._store_problem = ""

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
            except StorageError as exc:  # the store is away (deleted, locked): it comes back
                if exc.message != self._store_problem:
                    logger.warning("callbacks wait for the store: %s", exc.message)
                self._store_problem = exc.message
                continue
            except Exception:
                logger.exception("callback delivery loop failed; retrying")
            self._store_problem = ""

    def deliver_due(self) -> int:
        """Start every due delivery there is room for; returns how many were started."""
        with self._lock:
            room = MAX_IN_FLIGHT - self._busy
        if room <= 0:
            return 0
        slots: dict[str, Slot] = {}

        def accept(delivery: Delivery) -> bool:
            project_id = self._project_of(delivery.task_id)
            slot = self.limits.acquire(delivery.url, project_id)
            if slot is None:
                return False  # that receiver or project is busy: its callbacks wait, nobody else's
            slots[delivery.id] = slot
            return True

        try:
            due = self.store.lease_due_deliveries(
                time.time(), lease_seconds=LEASE_SECONDS, limit=room, accept=accept
            )
        except BaseException:
            for slot in slots.values():
                self.limits.release(slot)
            raise
        for delivery in due:
            with self._lock:
                self._busy += 1
            self._pool.submit(self._deliver_in_pool, delivery, slots.pop(delivery.id))
        for slot in slots.values():  # accepted, but leased by another process meanwhile
            self.limits.release(slot)
        return len(due)

    def _project_of(self, task_id: int) -> int:
        project_id = self._projects.get(task_id)
        if project_id is None:
            task = self.store.get(task_id)
            project_id = task.project_id if task is not None else 0
            if len(self._projects) > 100_000:
                self._projects.clear()
            self._projects[task_id] = project_id
        return project_id

    def _deliver_in_pool(self, delivery: Delivery, slot: Slot) -> None:
        try:
            self._deliver(delivery)
        except StorageError as exc:  # the lease ends and the delivery is tried again
            logger.warning("callback delivery waits for the store: %s", exc.message)
        except Exception:  # the store failed: the lease ends and the delivery is tried again
            logger.exception("callback delivery failed", extra={"task_id": delivery.task_id})
        finally:
            self.limits.release(slot)
            with self._lock:
                self._busy -= 1

    def _deliver(self, delivery: Delivery) -> None:
        task = self.store.get(delivery.task_id)
        project = self.store.project(task.project_id) if task else None
        rule = RULES.get(task.callback_dialect) if task is not None else None
        extra = {"task_id": delivery.task_id, "webhook_id": delivery.id}
        if task is None or project is None or rule is None:
            self.store.finish_delivery(delivery.id, state="none", attempts=0, due=0)
            return
        # The body carries the task's token and output URLs: sealed at rest like the secrets.
        body = self.keyring.open(delivery.body) or ""
        if not body:
            outputs = self.store.outputs([task.id])[task.id]
            body = rule.body(task, outputs, self.settings)
            if body is None:
                self.store.finish_delivery(delivery.id, state="none", attempts=0, due=0)
                return
            self.store.set_delivery_body(delivery.id, self.keyring.seal(body) or "")
            logger.info("callback rendered", extra=extra)
        secret = rule.key(project, self.keyring)
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "user-agent": "subject2video-webhooks/1",
            "webhook-id": delivery.id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, delivery.id, timestamp, body),
        }
        attempts = delivery.attempts + 1
        extra = {"task_id": delivery.task_id, "webhook_id": delivery.id, "attempt": attempts}
        try:
            status = post(
                delivery.url,
                body.encode(),
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
