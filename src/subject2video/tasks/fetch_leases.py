"""Scale-out: which API replica fetches which task's inputs, so a fetch outlives its replica.

The replica that starts a task's fetch holds a lease on it in Redis (`s2v:fetch:<task id>`, its
name with a TTL of `LEASE_SECONDS`, renewed every `PASS_SECONDS` while the fetch runs or waits for
one of its project's fetch slots). Every replica looks at the store's queued tasks with inputs
still to fetch at each pass: one whose lease lapsed (its replica died or was killed mid-fetch) is
taken by the first replica to set the lease, and fetched again there, where it counts one more
fetch start (past `FETCH_TRIES` the task fails, saying why: tasks/service.py). A Cancel or Kill on
any replica reaches the fetch on the replica doing it: the kill is published on `s2v:kill`, which
this watch hears, and each pass also reads the store's status of the fetches it holds.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Protocol

import redis

from subject2video.errors import StorageError
from subject2video.tasks.bus import KILLS, Subscriber, connect
from subject2video.tasks.models import Task
from subject2video.tasks.status import Status
from subject2video.tasks.store import Store

logger = logging.getLogger(__name__)

FETCH = "s2v:fetch:"
#: How long a fetch lease lives unless renewed: a dead replica's fetch is taken over after it.
LEASE_SECONDS = 5.0
PASS_SECONDS = 1.0

#: Renew a lease while this replica still holds it, or set it again where it vanished (Redis
#: restarted empty); 0 where another replica took it over.
_RENEW = """
local holder = redis.call('get', KEYS[1])
if holder == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
if not holder then
  redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class Fetcher(Protocol):
    """What the watch needs of the task service's fetch stage."""

    store: Store

    def fetching_ids(self) -> list[int]: ...

    def abort_fetch(self, task_id: int) -> None: ...

    def resume_fetch(self, task: Task, *, claimed: bool = False) -> bool: ...


class FetchLeases:
    """This replica's fetch leases: taken, renewed, let go, and taken over from dead replicas."""

    def __init__(self, url: str, fetcher: Fetcher) -> None:
        self.fetcher = fetcher
        self.name = f"{socket.gethostname()}.{os.getpid()}"
        self.client = connect(url)
        self._renew = self.client.register_script(_RENEW)
        self._release = self.client.register_script(_RELEASE)
        self._kills = Subscriber(url, KILLS, self._on_kill)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="s2v-fetch-leases", daemon=True)

    def start(self) -> None:
        self._kills.start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=3)
        self._kills.stop()

    def claim(self, task_id: int) -> bool:
        """Take the lease on `task_id`'s fetch; False when another replica holds it. With
        Redis away this replica fetches anyway (the claim in the store still runs it once)."""
        try:
            return bool(self.client.set(_key(task_id), self.name, nx=True, px=_ms(LEASE_SECONDS)))
        except redis.RedisError as exc:
            logger.warning("fetch lease unavailable (%s): fetching", exc)
            return True

    def release(self, task_id: int) -> None:
        try:
            self._release(keys=[_key(task_id)], args=[self.name])
        except redis.RedisError as exc:
            logger.warning("fetch lease not let go (%s): it lapses", exc)

    # -- each pass ------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.wait(PASS_SECONDS):
            try:
                self.renew()
                self.take_over()
            except (redis.RedisError, StorageError) as exc:
                logger.warning("fetch leases: %s", exc)
            except Exception:
                logger.exception("fetch lease pass failed; retrying")

    def renew(self) -> None:
        """Keep the leases of this replica's fetches; stop those cancelled or taken over."""
        for task_id in self.fetcher.fetching_ids():
            held = self._renew(keys=[_key(task_id)], args=[self.name, _ms(LEASE_SECONDS)])
            if not held or self.fetcher.store.status_of(task_id) != Status.queue:
                self.fetcher.abort_fetch(task_id)

    def take_over(self, now: float | None = None) -> int:
        """Fetch the inputs whose replica let its lease lapse; returns how many were taken."""
        now = time.time() if now is None else now
        mine = set(self.fetcher.fetching_ids())
        tasks = [
            t
            for t in self.fetcher.store.unfetched()
            if t.id not in mine and now - t.createtime >= LEASE_SECONDS
        ]
        if not tasks:
            return 0
        leases = self.client.mget([_key(t.id) for t in tasks])
        taken = 0
        for task, lease in zip(tasks, leases, strict=True):
            if lease is None and self.claim(task.id):
                logger.warning(
                    "taking over a fetch its replica abandoned", extra={"task_id": task.id}
                )
                taken += self.fetcher.resume_fetch(task, claimed=True)
        return taken

    def _on_kill(self, data: bytes) -> None:
        task_id = int(data)
        if task_id in self.fetcher.fetching_ids():
            self.fetcher.abort_fetch(task_id)


def _key(task_id: int) -> str:
    return f"{FETCH}{task_id}"


def _ms(seconds: float) -> int:
    return int(seconds * 1000)
