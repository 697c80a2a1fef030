"""Redis between processes in the scale-out deployment: events, kills and worker heartbeats.

Every process that changes a task publishes its `Event` on `s2v:events`; every API replica
subscribes and feeds its own `EventHub`, so a WebSocket on any replica sees every change. Kills go
on `s2v:kill` as a fast path (workers also poll the store). A worker holding a child process keeps
the key `s2v:hb:<worker>` alive; when it lapses, a reaper runs that worker's tasks again. Each
`s2v worker` also keeps `s2v:slots:<name>` alive (its queues and how many tasks it runs at once),
which the replica holding the dispatch lease (`s2v:dispatcher`) counts to send only what a worker
can take now; a task stored, or a slot freed, is announced on `s2v:dispatch` to wake it. Redis
going away loses no task (the store is the truth): publishers log and go on, subscribers reconnect.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis

from subject2video.tasks.events import Event

logger = logging.getLogger(__name__)

EVENTS = "s2v:events"
KILLS = "s2v:kill"
#: `s2v keys` announces a changed key here; every API replica drops its key cache.
KEYS = "s2v:keys"
HEARTBEAT = "s2v:hb:"
SENT = "s2v:sent:"
SLOTS = "s2v:slots:"
#: Wakes the dispatch lease's holder: a task can be sent, or a worker slot freed.
DISPATCH = "s2v:dispatch"
#: The dispatch lease: the one API replica that sends tasks to the broker (dispatch/sender.py).
LEASE = "s2v:dispatcher"


def connect(url: str) -> redis.Redis:
    """A Redis client that fails fast while the server is away, so callers can go on."""
    return redis.Redis.from_url(
        url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=10
    )


class RedisBus:
    """Publishes events and kills, keeps heartbeats, and remembers which task ids were sent."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = connect(url)

    def publish(self, event: Event) -> None:
        """An EventSink: publish `event` to every API replica."""
        self._publish(EVENTS, json.dumps(event.to_dict()))

    def kill(self, task_id: int) -> None:
        self._publish(KILLS, str(task_id))

    def wake_dispatcher(self) -> None:
        """Tell the replica that sends tasks to look again (a task stored, a slot freed)."""
        self._publish(DISPATCH, "1")

    def keys_changed(self) -> None:
        """Tell every API replica to drop its key cache (a key was revoked or rotated)."""
        self._publish(KEYS, "1")

    def _publish(self, channel: str, data: str) -> None:
        try:
            self.client.publish(channel, data)
        except redis.RedisError as exc:
            logger.warning("redis publish failed: %s", exc, extra={"channel": channel})

    def beat(self, worker: str, seconds: float) -> None:
        """Say that `worker` is alive for the next `seconds`."""
        self.client.set(HEARTBEAT + worker, "1", px=int(seconds * 1000))

    def alive(self, workers: list[str]) -> dict[str, bool]:
        """Which of `workers` have a live heartbeat; raises while Redis is away."""
        if not workers:
            return {}
        values = self.client.mget([HEARTBEAT + w for w in workers])
        return {w: v is not None for w, v in zip(workers, values, strict=True)}

    def beat_slots(self, worker: str, queues: list[str], slots: int, seconds: float) -> None:
        """Say that `worker` takes `slots` tasks at once from `queues` for the next `seconds`."""
        value = json.dumps({"queues": queues, "slots": slots})
        self.client.set(SLOTS + worker, value, px=int(seconds * 1000))

    def drop_slots(self, worker: str) -> None:
        """`worker` takes no more tasks (it is stopping)."""
        try:
            self.client.delete(SLOTS + worker)
        except redis.RedisError as exc:
            logger.warning("redis unavailable: %s", exc)

    def slots(self) -> dict[str, int]:
        """Tasks the live workers take at once, per queue; raises while Redis is away."""
        keys = list(self.client.scan_iter(match=SLOTS + "*", count=500))
        total: dict[str, int] = {}
        for value in self.client.mget(keys) if keys else []:
            if value is None:  # lapsed between the scan and the read
                continue
            beat = json.loads(value)
            for queue in beat["queues"]:
                total[queue] = total.get(queue, 0) + int(beat["slots"])
        return total

    def mark_sent(self, task_id: int, seconds: int) -> None:
        """Remember for `seconds` that `task_id` was sent now (the value is the time)."""
        try:
            self.client.set(f"{SENT}{task_id}", repr(time.time()), ex=seconds)
        except redis.RedisError as exc:
            logger.warning("redis unavailable: %s", exc, extra={"task_id": task_id})

    def clear_sent(self, task_id: int) -> None:
        """Forget that `task_id` was sent (its worker died: it must be sent again)."""
        try:
            self.client.delete(f"{SENT}{task_id}")
        except redis.RedisError as exc:
            logger.warning("redis unavailable: %s", exc, extra={"task_id": task_id})

    def sent(self, task_ids: list[int]) -> dict[int, bool]:
        return {i: when is not None for i, when in self.sent_at(task_ids).items()}

    def sent_at(self, task_ids: list[int]) -> dict[int, float | None]:
        """When each of `task_ids` was last sent (None: not sent, or forgotten)."""
        if not task_ids:
            return {}
        values = self.client.mget([f"{SENT}{i}" for i in task_ids])
        return {i: _when(v) for i, v in zip(task_ids, values, strict=True)}

    def close(self) -> None:
        self.client.close()


def _when(value: bytes | None) -> float | None:
    """A sent-mark's time (a mark of an older version, "1", counts as sent long ago)."""
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return 0.0


class Subscriber:
    """A thread that hands every message of `channel` to `handle`, reconnecting with backoff."""

    def __init__(self, url: str, channel: str, handle: Callable[[bytes], Any]) -> None:
        self.url = url
        self.channel = channel
        self.handle = handle
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"s2v-sub-{channel}", daemon=True)

    def start(self) -> Subscriber:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=3)

    def _loop(self) -> None:
        delay = 0.1
        while not self._stop.is_set():
            try:
                self._listen()
                delay = 0.1
            except (redis.RedisError, OSError) as exc:
                self.connected.clear()
                logger.warning("redis subscription lost (%s); reconnecting", exc)
                self._stop.wait(delay)
                delay = min(delay * 2, 2.0)

    def _listen(self) -> None:
        client = redis.Redis.from_url(self.url, socket_connect_timeout=2, socket_keepalive=True)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(self.channel)
            self.connected.set()
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=0.5)
                if message is None:
                    continue
                try:
                    self.handle(message["data"])
                except Exception:
                    logger.exception("bus message handler failed")
        finally:
            pubsub.close()
            client.close()


def event_subscriber(url: str, sink: Callable[[Event], None]) -> Subscriber:
    """Feed every published event into `sink` (an API replica's EventHub)."""
    return Subscriber(url, EVENTS, lambda data: sink(Event.from_dict(json.loads(data))))


def wait_connected(subscriber: Subscriber, timeout: float = 10.0) -> bool:
    """Wait until `subscriber` listens, so no event published after start-up is missed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if subscriber.connected.wait(0.1):
            return True
    return False
