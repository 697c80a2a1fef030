"""The key lifecycle in-process: a real store and the API's Authenticator, no server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from subject2video.api.auth import INVALID, UNKNOWN_KEY, Authenticator, signature
from subject2video.api.errors import ApiError
from subject2video.config import Settings
from subject2video.contract import RunInput
from subject2video.engines.camera import CameraEngine
from subject2video.errors import NotFound
from subject2video.media.detector import get_detector
from subject2video.tasks import keys
from subject2video.tasks.keyring import Keyring, KeyringError, touch_stamp
from subject2video.tasks.runner import Runner
from subject2video.tasks.service import TaskService, Upload
from subject2video.tasks.store import Store
from tests.unit.tasks.conftest import RecordingDispatcher, make_settings
from tests.utils.images import face_jpeg


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    (tmp_path / "data").mkdir()
    store = Store(f"sqlite:///{tmp_path / 'data' / 's2v.db'}")
    store.create_schema()
    yield store
    store.dispose()


def signed(apikey: str, secret: str, nonce: str = "1") -> dict[str, str]:
    return {"x-api-key": apikey, "x-nonce": nonce, "x-signature": signature(apikey, secret, nonce)}


def refused(auth: Authenticator, headers: dict[str, str]) -> str:
    with pytest.raises(ApiError) as caught:
        auth.authenticate(headers)
    return caught.value.message


def test_revoke_is_seen_at_the_next_request_through_the_stamp(tmp_path: Path, store: Store) -> None:
    settings = make_settings(tmp_path / "data")
    project = store.create_project("p")
    assert project.apisecret is not None
    auth = Authenticator(settings, store)
    assert auth.authenticate(signed(project.apikey, project.apisecret)).id == project.id
    assert auth.key_cached(project.apikey)

    keys.revoke(store, "p")
    touch_stamp(settings)  # what `s2v keys` does after each change
    assert refused(auth, signed(project.apikey, project.apisecret)) == UNKNOWN_KEY
    assert auth.project_for_key(project.apikey) is None  # the bearer dialects' path
    assert keys.state(store.project(project.id)) == "revoked"  # type: ignore[arg-type]


def test_rotation_grace_ends_on_time_even_from_the_cache(tmp_path: Path, store: Store) -> None:
    settings = make_settings(tmp_path / "data")
    old = store.create_project("p")
    auth = Authenticator(settings, store)
    rotated = keys.rotate(store, Keyring(None), "p", grace=0.5)
    touch_stamp(settings)
    assert rotated.apisecret and old.apisecret
    assert auth.authenticate(signed(old.apikey, old.apisecret)).id == old.id
    assert auth.authenticate(signed(rotated.apikey, rotated.apisecret)).id == old.id
    # The old key with the new secret (or the reverse) proves nothing.
    assert refused(auth, signed(old.apikey, rotated.apisecret)) == INVALID
    assert rotated.previous_until is not None
    time.sleep(max(0.0, rotated.previous_until - time.time()) + 0.01)
    assert auth.key_cached(old.apikey)  # still cached, yet past its end
    assert refused(auth, signed(old.apikey, old.apisecret)) == UNKNOWN_KEY
    assert auth.authenticate(signed(rotated.apikey, rotated.apisecret)).id == old.id


def test_sealed_secrets_open_only_with_the_master_key(tmp_path: Path, store: Store) -> None:
    master, other = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings = make_settings(tmp_path / "data", master_key=master)
    project = store.create_project("p", seal=Keyring(master).seal)
    stored = store.project(project.id)
    assert stored is not None and stored.apisecret is not None and project.apisecret is not None
    assert stored.apisecret.startswith("fernet:") and project.apisecret not in stored.apisecret
    assert Authenticator(settings, store).authenticate(signed(project.apikey, project.apisecret))

    with pytest.raises(KeyringError, match="set S2V_MASTER_KEY"):
        Keyring(None).open(stored.apisecret)
    with pytest.raises(KeyringError, match="does not open"):
        Keyring(other).open(stored.apisecret)
    # Moving to a new master key: re-encrypt with the old one given.
    assert keys.reencrypt(store, Keyring(other, old_keys=(master,)))["project"] == 1
    moved = store.project(project.id)
    assert moved is not None and Keyring(other).open(moved.apisecret) == project.apisecret
    with pytest.raises(KeyringError, match="not a Fernet key"):
        Keyring("not-a-key")


def test_an_outputs_access_key_is_sealed_and_downloads_are_checked_by_its_digest(
    tmp_path: Path, store: Store
) -> None:
    """The worker stores an output's access key sealed (and its digest); the service opens it
    for the URLs it shows and checks a download against the digest, before and after re-encrypt
    opened it again."""
    master = Fernet.generate_key().decode()
    settings = make_settings(tmp_path / "data", master_key=master)
    service = TaskService(settings, store, RecordingDispatcher(), lambda _event: None)
    project = store.create_project("p")
    run = RunInput(seconds=2, short_side=480)
    task = service.run(project, run, Upload("face.jpg", face_jpeg()))
    engine = CameraEngine()
    engine.setup()
    Runner(settings, store, engine, publish=lambda _event: None, detector=get_detector()).run(
        task.id
    )
    (output,) = store.outputs([task.id])[task.id]
    clear = service.accesskey_of(output)
    assert len(clear) == 30 and output.accesskey.startswith("fernet:"), output.accesskey
    assert clear not in output.accesskey and Keyring(master).open(output.accesskey) == clear
    assert service.file(output.id, accesskey=clear, name="0.mp4").id == output.id
    for wrong in (output.accesskey, output.accesskey_digest, "x" * 30, clear[:-1]):
        with pytest.raises(NotFound):
            service.file(output.id, accesskey=wrong, name="0.mp4")
    # Opened again (the master key withdrawn): the same key still downloads.
    assert keys.reencrypt(store, Keyring(None, old_keys=(master,)))["output"] == 1
    (opened,) = store.outputs([task.id])[task.id]
    assert opened.accesskey == clear
    assert service.file(output.id, accesskey=clear, name="0.mp4").id == output.id


def test_find_by_key_id_or_unique_name(store: Store) -> None:
    a = store.create_project("twin")
    store.create_project("twin")
    found, previous = keys.find(store, a.apikey)
    assert (found.id, previous) == (a.id, False)
    assert keys.find(store, str(a.id))[0].id == a.id
    with pytest.raises(keys.KeyNotFound, match="2 projects are named 'twin'"):
        keys.find(store, "twin")
    with pytest.raises(keys.KeyNotFound, match="see `s2v keys list`"):
        keys.find(store, "nobody")


def test_settings_keep_the_master_key_out_of_reprs(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, master_key="k" * 44)
    assert "k" * 44 not in repr(settings)
