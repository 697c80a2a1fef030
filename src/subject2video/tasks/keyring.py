"""Secrets at rest (API secrets, previous ones, `whsec_` webhook secrets): sealed with Fernet (the
`cryptography` package) when S2V_MASTER_KEY is set.

A project's secret keys an HMAC the server must recompute, so it is stored reversibly: with a master
key, as `fernet:<token>` (AES-128-CBC and HMAC-SHA256, with a timestamp); without one, in clear. A
store may hold both while `s2v keys re-encrypt` has not yet run. The master key lives only in the
environment of the processes that check signatures or sign callbacks, never in the store.

Make a master key with
    python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"
"""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from subject2video.config import Settings

PREFIX = "fernet:"
#: `s2v keys` touches this file in the data directory after any change to a key; every API process
#: with the same data directory drops its key cache when its modification time changes.
STAMP = "keys.changed"
MAKE_ONE = (
    'make one with: python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())"'
)


class KeyringError(Exception):
    """A master key is missing, malformed, or does not open a stored secret."""


def _fernet(key: str, name: str) -> Fernet:
    try:
        return Fernet(key.strip().encode())
    except (ValueError, TypeError):
        raise KeyringError(
            f"{name} is not a Fernet key (32 url-safe base64 bytes); {MAKE_ONE}"
        ) from None


class Keyring:
    """Seals and opens API secrets with the master key (none: secrets stay in clear)."""

    def __init__(self, master_key: str | None, *, old_keys: tuple[str, ...] = ()) -> None:
        self.sealing = _fernet(master_key, "S2V_MASTER_KEY") if master_key else None
        olds = [_fernet(k, "the old master key") for k in old_keys if k]
        keys = [self.sealing, *olds] if self.sealing else olds
        self._all = MultiFernet(keys) if keys else None

    @classmethod
    def from_settings(cls, settings: Settings, *, old_key: str | None = None) -> Keyring:
        master = settings.master_key.get_secret_value() if settings.master_key else None
        return cls(master, old_keys=(old_key,) if old_key else ())

    def seal(self, secret: str | None) -> str | None:
        """What to store for `secret`: a Fernet token with a master key, else the secret."""
        if secret is None or self.sealing is None:
            return secret
        return PREFIX + self.sealing.encrypt(secret.encode()).decode()

    def open(self, stored: str | None) -> str | None:
        """The secret behind what the store holds."""
        if stored is None or not stored.startswith(PREFIX):
            return stored
        if self._all is None:
            raise KeyringError(
                "the store holds encrypted API secrets: set S2V_MASTER_KEY to the key that sealed "
                "them"
            )
        try:
            return self._all.decrypt(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken:
            raise KeyringError(
                "S2V_MASTER_KEY does not open the stored API secrets: set the key that sealed "
                "them (or pass the old one to `s2v keys re-encrypt --old-master-key`)"
            ) from None

    def sealed_here(self, stored: str) -> bool:
        """Whether `stored` is a token sealed with the current master key (not an old one)."""
        if self.sealing is None or not stored.startswith(PREFIX):
            return False
        try:
            self.sealing.decrypt(stored[len(PREFIX) :].encode())
        except InvalidToken:
            return False
        return True

    def reseal(self, stored: str | None) -> str | None:
        """`stored` sealed with the current master key (in clear when there is none)."""
        return self.seal(self.open(stored))


def stamp_path(settings: Settings) -> Path:
    return settings.data_dir / STAMP


def touch_stamp(settings: Settings) -> None:
    """Tell the API processes on this data directory that keys changed (they drop their cache)."""
    path = stamp_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("keys changed; API processes drop their key cache when this file changes\n")


def announce_change(settings: Settings) -> None:
    """Tell every API process that keys changed: the data directory's stamp, and in scale-out
    (S2V_BROKER_URL or S2V_REDIS_URL set) the `s2v:keys` channel that every replica listens to.
    A replica that misses it (Redis away) still sees the change within its key cache's life."""
    touch_stamp(settings)
    if settings.events_url:
        from subject2video.tasks.bus import RedisBus

        bus = RedisBus(settings.events_url)
        try:
            bus.keys_changed()
        finally:
            bus.close()
