"""The scale-out dispatcher on the store: one API replica at a time sends queued tasks to the
broker, fairly across projects, and only while a worker slot is free.

Celery runs each queue in the order tasks were sent, so fairness is decided before sending. The
replica holding the dispatch lease (a Redis lock with a TTL, renewed at every pass; when its
holder dies or stops, the lease lapses or is let go and another replica takes it) keeps the same
`FairQueue` as the embedded dispatcher, filled from the store's queued tasks whose input is
stored. A pass sends while a slot is free: the live workers' slots (their `s2v:slots:` beats) per
engine queue, less the tasks the store shows running or sent and not yet claimed. So the broker
holds no backlog: waiting happens in the store, the next free slot goes to the project served
longest ago, and `S2V_MAX_RUNNING_PER_PROJECT` caps a project's running and sent tasks. Other
replicas only store tasks and wake the holder (`s2v:dispatch`); the reaper's resends and a sent
task that no worker claimed within `S2V_RESUBMIT_AFTER_SECONDS` (a lost message) go through it.

Two holders at once (one stalled past its lease) can only send a task early or twice: the claim
in the store still runs it once.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable

import redis
from redis.exceptions import LockError

from subject2video.config import Settings
from subject2video.errors import StorageError
from subject2video.tasks.bus import DISPATCH, LEASE, RedisBus, Subscriber
from subject2video.tasks.dispatch.fair import FairQueue
from subject2video.tasks.models import Task
from subject2video.tasks.status import RUNNING, Status
from subject2video.tasks.store import Store

logger = logging.getLogger(__name__)

#: How long the dispatch lease lives unless renewed; a dead holder's lapses within it.
LEASE_SECONDS = 5.0
#: The longest wait between passes (a pass also runs when woken).
PASS_SECONDS = 1.0


class FairSender:
    """Holds the dispatch lease when it can, and then sends queued tasks as slots free."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        bus: RedisBus,
        send: Callable[[int, str], bool],
        *,
        queue_of: Callable[[str], str],
    ) -> None:
        self.settings = settings
        self.store = store
        self.bus = bus
        #: Sends one task id to an engine's queue; False when the broker did not take it.
        self.send = send
        self.queue_of = queue_of
        self.holding = False
        self._queues: dict[str, FairQueue] = {}
        self._lease = bus.client.lock(LEASE, timeout=LEASE_SECONDS, thread_local=False)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="s2v-sender", daemon=True)
        self._woken = Subscriber(bus.url, DISPATCH, lambda _data: self._wake.set())

    def start(self) -> None:
        self._woken.start()
        self._thread.start()

    def stop(self) -> None:
        """Stop sending and let the lease go at once, so another replica takes it."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._woken.stop()
        if self.holding:
            with contextlib.suppress(LockError, redis.RedisError):
                self._lease.release()
            self.holding = False

    def wake(self) -> None:
        """A task may be sent now: look at once (here, or on the replica holding the lease)."""
        if self.holding:
            self._wake.set()
        else:
            self.bus.wake_dispatcher()

    # -- the loop -------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(PASS_SECONDS)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                if self._hold():
                    self.send_free()
            except redis.RedisError as exc:
                logger.warning("dispatch: redis unavailable (%s)", exc)
            except StorageError as exc:
                logger.warning("dispatch: the store is unavailable (%s)", exc)
            except Exception:
                logger.exception("dispatch pass failed; retrying")

    def _hold(self) -> bool:
        """Whether this replica holds the lease now (renewed, or just taken)."""
        if self.holding:
            try:
                self._lease.reacquire()
                return True
            except LockError:
                logger.warning("dispatch lease lost; another replica sends tasks now")
                self.holding = False
                self._queues.clear()
        if self._lease.acquire(blocking=False):
            logger.info("this replica holds the dispatch lease: it sends tasks to the workers")
            self.holding = True
        return self.holding

    # -- one pass ---------------------------------------------------------------------------------

    def send_free(self, now: float | None = None) -> int:
        """Send as many waiting tasks as workers can take now, fairly; returns how many."""
        now = time.time() if now is None else now
        tasks = self.store.unfinished()
        queued = [t for t in tasks if t.status == Status.queue.value and t.input_path is not None]
        sent_at = self.bus.sent_at([t.id for t in queued])
        for task in queued:  # sent, yet no worker claimed it in time: the message was lost
            when = sent_at.get(task.id)
            if when is not None and now - when >= self.settings.resubmit_after_seconds:
                logger.info("sending again a task no worker claimed", extra={"task_id": task.id})
                self.bus.clear_sent(task.id)
                sent_at[task.id] = None
        busy: dict[str, Counter[int]] = {}
        waiting: dict[str, list[Task]] = {}
        for task in tasks:
            if Status(task.status) in RUNNING or sent_at.get(task.id) is not None:
                busy.setdefault(task.engine, Counter())[task.project_id] += 1
            elif task.status == Status.queue.value and task.input_path is not None:
                waiting.setdefault(task.engine, []).append(task)
        slots = self.bus.slots()
        sent = 0
        for engine in set(busy) | set(waiting) | set(self._queues):
            running = busy.get(engine, Counter())
            free = slots.get(self.queue_of(engine), 0) - sum(running.values())
            sent += self._send_engine(engine, waiting.get(engine, []), running, free)
        return sent

    def _send_engine(
        self, engine: str, waiting: list[Task], running: Counter[int], free: int
    ) -> int:
        """Send up to `free` of one engine's waiting tasks, round-robin across projects."""
        fair = self._queues.setdefault(engine, FairQueue(cap=self.settings.max_running_per_project))
        fair.retain({t.id for t in waiting})
        for task in waiting:  # oldest first: a project's own tasks keep their order
            fair.put(task.id, task.project_id)
        fair.set_running(running)
        sent = 0
        while sent < free:
            taken = fair.take()
            if taken is None:
                break
            if not self.send(taken[0], engine):
                fair.retain(set())  # the broker is away: the next pass starts over, in order
                break
            sent += 1
        return sent
