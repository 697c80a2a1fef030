"""Outputs: the files a task made."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import (
    delete,
    select,
)

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
