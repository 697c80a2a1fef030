"""Scale-out: a key revoked with `s2v keys` is refused at once by API replicas that share neither
the data directory nor anything but PostgreSQL and Redis (the `s2v:keys` channel)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.utils.cluster import Redis, need_services, postgres_database, s2v
from tests.utils.server import Server

pytestmark = pytest.mark.slow


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[tuple[list[Server], dict[str, str]]]:
    need_services()
    redis = Redis().start()
    with postgres_database() as url:
        env = {"S2V_DATABASE_URL": url, "S2V_BROKER_URL": redis.url, "S2V_ENGINE": "camera"}
        s2v(["db", "upgrade", "--data-dir", str(tmp_path / "admin")], env)
        apis = [Server(tmp_path / f"api{i}", env=env) for i in range(2)]
        try:
            for api in apis:
                api.start()
            yield apis, env
        finally:
            for api in apis:
                api.stop()
            redis.stop()


def test_revocation_reaches_every_replica_at_once(
    replicas: tuple[list[Server], dict[str, str]], tmp_path: Path
) -> None:
    apis, env = replicas
    project = apis[0].keys("leaky", key_only=True)
    for api in apis:  # authenticated (no such task), and now in each replica's key cache
        assert api.post("/v1/Task/Detail", project, json={"taskid": "1"}).status_code == 404
    s2v(["keys", "revoke", project.apikey, "--data-dir", str(tmp_path / "admin")], env)
    revoked = time.monotonic()
    for api in apis:
        # Redis delivers the announcement asynchronously: allow it a second, far below the
        # 30 s key cache that would otherwise let the key through.
        while api.post("/v1/Task/Detail", project, json={"taskid": "1"}).status_code != 401:
            assert time.monotonic() - revoked < 1.0, f"{api.url} still accepts a revoked key"
            time.sleep(0.02)
