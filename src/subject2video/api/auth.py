"""Authentication: `x-api-key` alone (key-only projects) or with `x-nonce` and `x-signature`.

signature = hex(HMAC-SHA256(key=API key, message=API secret + nonce)). The header may also carry
what OpenSSL prints (`SHA2-256(stdin)= <hex>`, `(stdin)= <hex>`): the hex after `= ` is taken.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Mapping

from subject2video.api.errors import ApiError
from subject2video.config import NoncePolicy, Settings
from subject2video.tasks.models import Project
from subject2video.tasks.store import Store

UNKNOWN_KEY = "Project authorization is not founded."
NEEDS_SIGNATURE = (
    "Project requires signature authentication. x-signature and x-nonce headers are required."
)
INVALID = "Project authorization is not valid."
#: Projects are cached briefly so that a hot Detail loop costs no key lookup.
CACHE_SECONDS = 30.0


def signature(apikey: str, apisecret: str, nonce: str) -> str:
    """The signature a client sends for `nonce`."""
    return hmac.new(apikey.encode(), (apisecret + nonce).encode(), hashlib.sha256).hexdigest()


def signature_hex(header: str) -> str:
    """The hex digest in an `x-signature` header, in any of the accepted forms."""
    value = header.strip()
    if "= " in value:
        value = value.rsplit("= ", 1)[1]
    return value.strip().lower()


class Authenticator:
    """Checks request headers against the store, per the nonce policy."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self._cache: dict[str, tuple[Project, float]] = {}
        self._lock = threading.Lock()

    def authenticate(self, headers: Mapping[str, str]) -> Project:
        """The project the headers prove, or ApiError 401."""
        apikey = headers.get("x-api-key", "").strip()
        project = self._project(apikey) if apikey else None
        if project is None:
            raise ApiError(UNKNOWN_KEY, status=401)
        if project.apisecret is None:
            return project
        nonce = headers.get("x-nonce", "").strip()
        sent = headers.get("x-signature", "")
        if not nonce or not sent.strip():
            raise ApiError(NEEDS_SIGNATURE, status=401)
        expected = signature(project.apikey, project.apisecret, nonce)
        if not hmac.compare_digest(expected.encode(), signature_hex(sent).encode()):
            raise ApiError(INVALID, status=401)
        if self.settings.nonce_policy == NoncePolicy.strict and not self._fresh(apikey, nonce):
            raise ApiError(INVALID, status=401)
        return project

    def needs_io(self, headers: Mapping[str, str]) -> bool:
        """Whether `authenticate` would touch the store (else it may run on the event loop)."""
        if self.settings.nonce_policy == NoncePolicy.strict:
            return True
        cached = self._cache.get(headers.get("x-api-key", "").strip())
        return cached is None or cached[1] <= time.monotonic()

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
        """The project with this API key, from the short cache or the store; None if unknown."""
        return self._project(apikey)

    def key_cached(self, apikey: str) -> bool:
        """Whether `project_for_key` would answer without touching the store."""
        cached = self._cache.get(apikey)
        return cached is not None and cached[1] > time.monotonic()

    def _project(self, apikey: str) -> Project | None:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(apikey)
        if cached and cached[1] > now:
            return cached[0]
        project = self.store.project_by_key(apikey)
        if project is not None:
            with self._lock:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[apikey] = (project, now + CACHE_SECONDS)
        return project
