"""Authentication: `x-api-key` alone (key-only projects) or with `x-nonce` and `x-signature`.

signature = hex(HMAC-SHA256(key=API key, message=API secret + nonce)). The header may also carry
what OpenSSL prints (`SHA2-256(stdin)= <hex>`, `(stdin)= <hex>`): the hex after `= ` is taken.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from subject2video.api.errors import ApiError
from subject2video.config import NoncePolicy, Settings
from subject2video.tasks.keyring import Keyring, stamp_path
from subject2video.tasks.models import Project
from subject2video.tasks.store import Store

UNKNOWN_KEY = "Project authorization is not founded."
NEEDS_SIGNATURE = (
    "Project requires signature authentication. x-signature and x-nonce headers are required."
)
INVALID = "Project authorization is not valid."
#: Projects are cached briefly so that a hot Detail loop costs no key lookup. `s2v keys` announces
#: each change (tasks/keyring.py): processes on its data directory see the stamp at their next
#: request, scale-out replicas get it on Redis's `s2v:keys` channel. This is how long a revoked key
#: may still be accepted by a process that missed both (Redis away, no shared directory).
CACHE_SECONDS = 30.0
#: Beyond this many cached keys, the cache starts again (a flood of unknown keys costs nothing).
CACHE_MAX = 10_000

logger = logging.getLogger(__name__)


def signature(apikey: str, apisecret: str, nonce: str) -> str:
    """The signature a client sends for `nonce`."""
    return hmac.new(apikey.encode(), (apisecret + nonce).encode(), hashlib.sha256).hexdigest()


def signature_hex(header: str) -> str:
    """The hex digest in an `x-signature` header, in any of the accepted forms."""
    value = header.strip()
    if "= " in value:
        value = value.rsplit("= ", 1)[1]
    return value.strip().lower()


@dataclass(frozen=True)
class KeyMatch:
    """What a presented API key proves: its project, its secret in clear, and until when."""

    project: Project
    secret: str | None
    #: Unix time after which the key stops (a previous key in its grace period); None: no end.
    until: float | None

    def valid(self, now: float) -> bool:
        if self.project.revokedtime is not None:
            return False
        return self.until is None or now < self.until


class Authenticator:
    """Checks request headers against the store, per the nonce policy.

    Every dialect authenticates through here (`authenticate`, or `project_for_key` for bearer
    keys), so a revoked key, or a rotated key past its grace period, is refused by each in its own
    words.
    """

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.keyring = Keyring.from_settings(settings)
        self._cache: dict[str, tuple[KeyMatch, float]] = {}
        self._lock = threading.Lock()
        self._stamp_path = stamp_path(settings)
        self._stamp: int | None = self._read_stamp()
        #: Counts the key changes this process has seen (the stamp, or the `s2v:keys` channel).
        self._generation = 0

    def authenticate(self, headers: Mapping[str, str]) -> Project:
        """The project the headers prove, or ApiError 401."""
        apikey = headers.get("x-api-key", "").strip()
        match = self._match(apikey) if apikey else None
        if match is None:
            raise ApiError(UNKNOWN_KEY, status=401)
        if match.secret is None:
            return match.project
        nonce = headers.get("x-nonce", "").strip()
        sent = headers.get("x-signature", "")
        if not nonce or not sent.strip():
            raise ApiError(NEEDS_SIGNATURE, status=401)
        expected = signature(apikey, match.secret, nonce)
        if not hmac.compare_digest(expected.encode(), signature_hex(sent).encode()):
            raise ApiError(INVALID, status=401)
        if self.settings.nonce_policy == NoncePolicy.strict and not self._fresh(apikey, nonce):
            raise ApiError(INVALID, status=401)
        return match.project

    def needs_io(self, headers: Mapping[str, str]) -> bool:
        """Whether `authenticate` would touch the store (else it may run on the event loop)."""
        if self.settings.nonce_policy == NoncePolicy.strict:
            return True
        return not self.key_cached(headers.get("x-api-key", "").strip())

    def _fresh(self, apikey: str, nonce: str) -> bool:
        """Strict policy: a unix-time nonce (s or ms) within the skew, never seen before."""
        if not nonce.isdigit() or len(nonce) > 16:
            return False
        stamp = int(nonce)
        seconds = stamp / 1000 if stamp > 10**11 else stamp
        skew = self.settings.nonce_skew_seconds
        if abs(time.time() - seconds) > skew:
            return False
        return self.store.use_nonce(apikey, nonce, keep_seconds=2 * skew + 5)

    def project_for_key(self, apikey: str) -> Project | None:
        """The project this key opens, from the short cache or the store; None if the key is
        unknown, revoked, or a rotated key past its grace period."""
        match = self._match(apikey)
        return match.project if match is not None else None

    def key_cached(self, apikey: str) -> bool:
        """Whether `project_for_key` would answer without touching the store."""
        self._check_stamp()
        cached = self._cache.get(apikey)
        return cached is not None and cached[1] > time.monotonic()

    def forget(self) -> None:
        """Drop every cached key: one changed (the `s2v:keys` channel in scale-out)."""
        with self._lock:
            self._cache.clear()
            self._generation += 1

    def generation(self) -> int:
        """A number that changes whenever a key may have changed (one stat of the stamp): what
        open WebSocket subscriptions watch to end a revoked project's subscriptions."""
        self._check_stamp()
        return self._generation

    # -- the cache ------------------------------------------------------------------------------

    def _match(self, apikey: str) -> KeyMatch | None:
        self._check_stamp()
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(apikey)
        if cached is not None and cached[1] > now:
            match = cached[0]
        else:
            # Unknown keys are not cached: a key made a moment ago works at once everywhere.
            match = self._load(apikey)
            if match is None:
                return None
            with self._lock:
                if len(self._cache) > CACHE_MAX:
                    self._cache.clear()
                self._cache[apikey] = (match, now + CACHE_SECONDS)
        if not match.valid(time.time()):
            logger.info("refused a revoked or expired key", extra={"project": match.project.id})
            return None
        return match

    def _load(self, apikey: str) -> KeyMatch | None:
        """The key's match from the store (recording that it was used), or None if unknown."""
        project = self.store.project_by_any_key(apikey)
        if project is None:
            return None
        if project.apikey == apikey:
            match = KeyMatch(project, self.keyring.open(project.apisecret), None)
        else:
            secret = self.keyring.open(project.previous_apisecret)
            match = KeyMatch(project, secret, project.previous_until or 0.0)
        if match.valid(time.time()):
            self.store.update_project(project.id, lastusedtime=time.time())
        return match

    def _read_stamp(self) -> int | None:
        try:
            return self._stamp_path.stat().st_mtime_ns
        except OSError:
            return None

    def _check_stamp(self) -> None:
        """Drop the cache when `s2v keys` changed a key on this data directory (one stat)."""
        stamp = self._read_stamp()
        if stamp != self._stamp:
            with self._lock:
                self._stamp = stamp
                self._cache.clear()
                self._generation += 1
