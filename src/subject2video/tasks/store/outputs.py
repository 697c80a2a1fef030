"""Outputs: the files a task made."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import (
    delete,
    select,
    update,
)

from subject2video.tasks.keyring import PREFIX as SEALED
from subject2video.tasks.models import Output
from subject2video.tasks.store.engine import StoreBase


class Outputs(StoreBase):
    """A task's stored files."""

    # -- outputs ----------------------------------------------------------------------------

    def add_output(self, output: Output) -> None:
        with self.session() as s:
            s.add(output)

    def outputs(self, task_ids: Iterable[int]) -> dict[int, list[Output]]:
        ids = list(task_ids)
        found: dict[int, list[Output]] = {i: [] for i in ids}
        if not ids:
            return found
        with self.session() as s:
            for out in s.scalars(select(Output).where(Output.task_id.in_(ids)).order_by(Output.id)):
                found[out.task_id].append(out)
        return found

    def output(self, output_id: str) -> Output | None:
        with self.session() as s:
            return s.get(Output, output_id)

    def delete_outputs(self, task_id: int) -> list[Output]:
        with self.session() as s:
            rows = list(s.scalars(select(Output).where(Output.task_id == task_id)))
            s.execute(delete(Output).where(Output.task_id == task_id))
            return rows

    def expired_outputs(self, now: float) -> list[Output]:
        with self.session() as s:
            return list(
                s.scalars(
                    select(Output).where(Output.expiretime.is_not(None), Output.expiretime < now)
                )
            )

    def delete_output(self, output_id: str) -> None:
        with self.session() as s:
            s.execute(delete(Output).where(Output.id == output_id))

    # -- access keys at rest (sealed with S2V_MASTER_KEY, tasks/keyring.py) -----------------

    def stored_accesskeys(self) -> list[tuple[str, str]]:
        """Every output's id and access key as stored (for `s2v keys re-encrypt`)."""
        with self.session() as s:
            return [(r.id, r.accesskey) for r in s.execute(select(Output.id, Output.accesskey))]

    def newest_sealed_accesskey(self) -> str | None:
        """The newest output's access key if it is stored sealed (for the start-up check that
        the master key opens what the store holds)."""
        with self.session() as s:
            return s.scalar(
                select(Output.accesskey)
                .where(Output.accesskey.startswith(SEALED))
                .order_by(Output.addedtime.desc())
                .limit(1)
            )

    def set_stored_accesskeys(self, accesskeys: list[tuple[str, str]]) -> None:
        """Replace outputs' stored access keys (sealed or opened by `s2v keys re-encrypt`)."""
        with self.session() as s:
            for output_id, stored in accesskeys:
                s.execute(update(Output).where(Output.id == output_id).values(accesskey=stored))
