"""Projects and nonces."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from subject2video.tasks.models import Nonce, Project, Task
from subject2video.tasks.store.engine import StoreBase, token, webhook_secret


class Projects(StoreBase):
    """Projects, their keys, and the nonces of signed requests."""

    # -- projects ---------------------------------------------------------------------------

    def create_project(
        self,
        name: str,
        *,
        key_only: bool = False,
        seal: Callable[[str], str] | None = None,
        webhook_url: str | None = None,
    ) -> Project:
        """A new project with a new key (and secret, stored as `seal` makes it: keyring.py);
        with `webhook_url`, a `whsec_` secret its webhook events are signed with."""
        secret = None if key_only else token(40)
        whsec = webhook_secret() if webhook_url else None
        project = Project(
            name=name,
            apikey=token(32),
            apisecret=seal(secret) if seal and secret else secret,
            createtime=time.time(),
            webhook_url=webhook_url,
            webhook_secret=seal(whsec) if seal and whsec else whsec,
        )
        with self.session() as s:
            s.add(project)
        # The caller shows the secrets once, in clear; the store keeps what `seal` made of them.
        project.apisecret = secret
        project.webhook_secret = whsec
        return project

    def project_by_any_key(self, apikey: str) -> Project | None:
        """The project whose current key, or key replaced by a rotation, is `apikey`."""
        where = or_(Project.apikey == apikey, Project.previous_apikey == apikey)
        with self.session() as s:
            return s.scalar(select(Project).where(where))

    def update_project(self, project_id: int, **fields: Any) -> bool:
        with self.session() as s:
            result = s.execute(update(Project).where(Project.id == project_id).values(**fields))
            return result.rowcount == 1

    def task_counts_by_project(self) -> dict[int, int]:
        with self.session() as s:
            rows = s.execute(select(Task.project_id, func.count(Task.id)).group_by(Task.project_id))
            return {project_id: count for project_id, count in rows}

    def projects(self) -> list[Project]:
        with self.session() as s:
            return list(s.scalars(select(Project).order_by(Project.id)))

    def project(self, project_id: int) -> Project | None:
        with self.session() as s:
            return s.get(Project, project_id)

    def project_by_key(self, apikey: str) -> Project | None:
        with self.session() as s:
            return s.scalar(select(Project).where(Project.apikey == apikey))

    def use_nonce(self, apikey: str, nonce: str, *, keep_seconds: float) -> bool:
        """Record (key, nonce); False if it was seen before. Old nonces are pruned."""
        now = time.time()
        try:
            with self.session() as s:
                s.execute(delete(Nonce).where(Nonce.seen < now - keep_seconds))
                s.add(Nonce(apikey=apikey, nonce=nonce, seen=now))
        except IntegrityError:
            return False
        return True
