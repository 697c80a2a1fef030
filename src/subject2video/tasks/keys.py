"""The key lifecycle: revoke, rotate (with a grace period for the old key), list, re-encrypt.

A project has one current key (and secret, unless key-only) and, for `grace` seconds after a
rotation, its previous one. Revoking a project stops both at once; revoking a previous key by its
value stops that one only. A revoked project's tasks and outputs stay until they are deleted.
Every change touches the data directory's stamp (keyring.py), so API processes on that directory
drop their key cache at their next request; others see it within `api.auth.CACHE_SECONDS`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from subject2video.tasks.keyring import PREFIX, Keyring
from subject2video.tasks.models import Project
from subject2video.tasks.store import Store, token

logger = logging.getLogger(__name__)


#: Every secret a project keeps at rest; each is sealed with S2V_MASTER_KEY when it is set.
SECRET_FIELDS = ("apisecret", "previous_apisecret", "webhook_secret")


class KeysError(Exception):
    """A key command that cannot be done; the message says why and what to do."""


class KeyNotFound(KeysError):
    """No project (or more than one) answers to the reference given."""


class RotationRefused(KeysError):
    """A rotation would cut short the grace period an earlier rotation granted."""


class SecretsLeft(KeysError):
    """`reencrypt` wrote its changes, yet some stored secret is still not in the form asked for."""


@dataclass(frozen=True)
class Rotated:
    """A rotation's new credentials, shown once; the old key works until `previous_until`."""

    project: Project
    apikey: str
    apisecret: str | None
    previous_until: float | None


def state(project: Project, now: float | None = None) -> str:
    """active, revoked, or rotating (the previous key is still accepted)."""
    now = time.time() if now is None else now
    if project.revokedtime is not None:
        return "revoked"
    if project.previous_apikey and (project.previous_until or 0) > now:
        return "rotating"
    return "active"


def find(store: Store, ref: str) -> tuple[Project, bool]:
    """The project `ref` names (a current or previous API key, an id, or a unique name), and
    whether `ref` is its previous key."""
    project = store.project_by_any_key(ref)
    if project is not None:
        return project, project.apikey != ref
    projects = store.projects()
    if ref.isdigit():
        matches = [p for p in projects if p.id == int(ref)]
    else:
        matches = [p for p in projects if p.name == ref]
    if len(matches) == 1:
        return matches[0], False
    if not matches:
        raise KeyNotFound(f"no project has the key, id or name {ref!r}: see `s2v keys list`")
    ids = ", ".join(str(p.id) for p in matches)
    raise KeyNotFound(f"{len(matches)} projects are named {ref!r} (ids {ids}): give the id or key")


def revoke(store: Store, ref: str) -> tuple[Project, str]:
    """Stop `ref`'s keys now (or only the previous key, when `ref` is that key); what was done."""
    project, previous = find(store, ref)
    if previous:
        store.update_project(
            project.id, previous_apikey=None, previous_apisecret=None, previous_until=None
        )
        what = "previous key revoked; the current key still works"
    else:
        store.update_project(
            project.id,
            revokedtime=time.time(),
            previous_apikey=None,
            previous_apisecret=None,
            previous_until=None,
        )
        what = "revoked: its keys are refused; its tasks and outputs stay"
    logger.info("key revoked", extra={"project": project.id, "previous_only": previous})
    return project, what


def rotate(store: Store, keyring: Keyring, ref: str, *, grace: float) -> Rotated:
    """A new key (and secret, unless key-only); the old one accepted `grace` more seconds.

    A revoked project gets new credentials and is active again; its revoked key stays refused.
    A project still in the grace period of an earlier rotation is refused: a project keeps one
    previous key, so rotating again would end that grace at once, which its clients were promised
    (revoke the previous key first to end it on purpose).
    """
    project, _ = find(store, ref)
    if state(project) == "rotating" and project.previous_apikey:
        until = datetime.fromtimestamp(project.previous_until or 0, UTC).isoformat(
            timespec="seconds"
        )
        raise RotationRefused(
            f"project {project.name!r} (id {project.id}) is in the grace period of its last "
            f"rotation: its previous key is accepted until {until}, and a new rotation would end "
            "that at once. Rotate again after that time, or end the grace first with "
            f"`s2v keys revoke {project.previous_apikey}`"
        )
    apikey = token(32)
    secret = None if project.apisecret is None else token(40)
    keep_old = grace > 0 and project.revokedtime is None
    until = time.time() + grace if keep_old else None
    fields: dict[str, Any] = {
        "apikey": apikey,
        "apisecret": keyring.seal(secret),
        "revokedtime": None,
        "previous_apikey": project.apikey if keep_old else None,
        "previous_apisecret": project.apisecret if keep_old else None,
        "previous_until": until,
    }
    store.update_project(project.id, **fields)
    logger.info("key rotated", extra={"project": project.id, "grace_seconds": grace})
    return Rotated(project, apikey, secret, until)


def rows(store: Store) -> list[dict[str, Any]]:
    """Each project's key: created, last used, tasks, state, auth kind (no secrets)."""
    counts = store.task_counts_by_project()
    now = time.time()
    found = []
    for p in store.projects():
        rotating = state(p, now) == "rotating"
        found.append(
            {
                "id": p.id,
                "name": p.name,
                "apikey": p.apikey,
                "auth": "key-only" if p.apisecret is None else "signature",
                "state": state(p, now),
                "created": p.createtime,
                "lastused": p.lastusedtime,
                "tasks": counts.get(p.id, 0),
                "previous_apikey": p.previous_apikey if rotating else None,
                "previous_until": p.previous_until if rotating else None,
                "encrypted": bool(p.apisecret and p.apisecret.startswith(PREFIX))
                and all(v.startswith(PREFIX) for v in _secrets(p).values()),
            }
        )
    return found


def _secrets(project: Project) -> dict[str, str]:
    """The secrets a project stores (those it has), by column."""
    return {name: v for name in SECRET_FIELDS if (v := getattr(project, name)) is not None}


def _as_asked(keyring: Keyring, value: str) -> bool:
    """Whether a stored secret is as `keyring` stores it: sealed with its key, or in clear."""
    if keyring.sealing is not None:
        return keyring.sealed_here(value)
    return not value.startswith(PREFIX)


#: The kinds of secret at rest, as `s2v keys re-encrypt` counts them (singular, plural).
KINDS = {
    "project": ("project secret", "project secrets"),
    "token": ("task token", "task tokens"),
    "output": ("output access key", "output access keys"),
    "body": ("callback body", "callback bodies"),
}
#: A stored secret: its kind, where it is (a project id and column, a task id, a delivery id),
#: and its stored value.
Stored = tuple[str, tuple[Any, ...], str]


def _stored(store: Store) -> list[Stored]:
    """Every secret at rest: the projects' secrets, the tasks' socket access tokens, the outputs'
    access keys (the secret part of their download URLs), and the rendered callback bodies (each
    carries its task's token and output URLs)."""
    found: list[Stored] = [
        ("project", (p.id, name), value)
        for p in store.projects()
        for name, value in _secrets(p).items()
    ]
    found += [("token", (task_id,), value) for task_id, value in store.stored_tokens()]
    found += [("output", (output_id,), value) for output_id, value in store.stored_accesskeys()]
    found += [("body", (delivery_id,), value) for delivery_id, value in store.delivery_bodies()]
    return found


def _name(kind: str, where: tuple[Any, ...]) -> str:
    if kind == "project":
        return f"project {where[0]} {where[1]}"
    if kind == "output":
        return f"output {where[0]} access key"
    return f"task {where[0]} token" if kind == "token" else f"callback {where[0]} body"


def counted(counts: dict[str, int]) -> str:
    """`{"token": 2, "body": 1}` as "2 task tokens, 1 callback body"."""
    return ", ".join(
        f"{n} {KINDS[kind][0] if n == 1 else KINDS[kind][1]}" for kind, n in counts.items() if n
    )


def stored_counts(store: Store) -> dict[str, int]:
    """How many secrets of each kind are at rest."""
    counts = dict.fromkeys(KINDS, 0)
    for kind, _, _ in _stored(store):
        counts[kind] += 1
    return counts


def unsealed(store: Store, keyring: Keyring) -> list[str]:
    """The stored secrets not as `keyring` stores them ("project 3 webhook_secret", "task 7
    token"...): in clear while a master key is set, or sealed (with any key) while none is."""
    return [
        _name(kind, where) for kind, where, value in _stored(store) if not _as_asked(keyring, value)
    ]


def reencrypt(store: Store, keyring: Keyring) -> dict[str, int]:
    """Seal every secret at rest (`_stored`) with the current master key, or open them all with
    none; returns how many of each kind (`KINDS`) were re-written. Fails before writing anything
    if one cannot be opened, and after writing (`SecretsLeft`) if any is still not as asked."""
    changed = dict.fromkeys(KINDS, 0)
    projects: dict[int, dict[str, str | None]] = {}
    tokens: list[tuple[int, str]] = []
    accesskeys: list[tuple[str, str]] = []
    bodies: list[tuple[str, str]] = []
    for kind, where, value in _stored(store):
        if _as_asked(keyring, value):
            continue
        resealed = keyring.reseal(value) or ""
        changed[kind] += 1
        if kind == "project":
            projects.setdefault(where[0], {})[where[1]] = resealed
        elif kind == "token":
            tokens.append((where[0], resealed))
        elif kind == "output":
            accesskeys.append((where[0], resealed))
        else:
            bodies.append((where[0], resealed))
    for project_id, fields in projects.items():
        store.update_project(project_id, **fields)
    store.set_stored_tokens(tokens)
    store.set_stored_accesskeys(accesskeys)
    for delivery_id, body in bodies:
        store.set_delivery_body(delivery_id, body)
    left = unsealed(store, keyring)
    if left:
        more = f" and {len(left) - 10} more" if len(left) > 10 else ""
        raise SecretsLeft(
            f"{len(left)} stored secrets are still not "
            f"{'sealed with S2V_MASTER_KEY' if keyring.sealing else 'in clear'} after re-encrypt: "
            f"{', '.join(left[:10])}{more}; run it again (a server without S2V_MASTER_KEY may "
            "have stored them meanwhile), and report this if it persists"
        )
    return changed
