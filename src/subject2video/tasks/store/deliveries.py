"""Callback deliveries."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from subject2video.tasks.models import Delivery, Task
from subject2video.tasks.status import FINAL
from subject2video.tasks.store.engine import StoreBase


class Deliveries(StoreBase):
    """Callback deliveries: one per final task, leased to one process at a time."""

    # -- callback deliveries ----------------------------------------------------------------

    def add_delivery(self, delivery: Delivery) -> bool:
        """Store a delivery; False if the task already has one (exactly one per final status)."""
        try:
            with self.session() as s:
                s.add(delivery)
        except IntegrityError:
            return False
        return True

    def lease_due_deliveries(
        self,
        now: float,
        *,
        lease_seconds: float,
        limit: int = 20,
        accept: Callable[[Delivery], bool] | None = None,
    ) -> list[Delivery]:
        """Take the deliveries that are due and not leased by another process; with `accept`,
        only those it accepts (it is asked in order of due time, of a few times `limit`)."""
        taken: list[Delivery] = []
        with self.session() as s:
            due = list(
                s.scalars(
                    select(Delivery)
                    .where(
                        Delivery.state == "pending", Delivery.due <= now, Delivery.lease_until < now
                    )
                    .order_by(Delivery.due)
                    .limit(limit if accept is None else limit * 5)
                )
            )
        for d in due:
            if len(taken) >= limit:
                break
            if accept is not None and not accept(d):
                continue
            with self.session() as s:
                result = s.execute(
                    update(Delivery)
                    .where(Delivery.id == d.id, Delivery.lease_until == d.lease_until)
                    .values(lease_until=now + lease_seconds)
                )
                if result.rowcount == 1:
                    taken.append(d)
        return taken

    def set_delivery_body(self, delivery_id: str, body: str) -> None:
        """Keep a delivery's rendered body, so that every retry sends the same bytes."""
        with self.session() as s:
            s.execute(update(Delivery).where(Delivery.id == delivery_id).values(body=body))

    def finish_delivery(
        self, delivery_id: str, *, state: str, attempts: int, due: float, error: str = ""
    ) -> None:
        with self.session() as s:
            s.execute(
                update(Delivery)
                .where(Delivery.id == delivery_id)
                .values(state=state, attempts=attempts, due=due, last_error=error, lease_until=0.0)
            )

    def undelivered_final_tasks(self) -> list[int]:
        """Final tasks with a callback URL but no delivery: a process died between the final
        status and recording its callback."""
        has_delivery = select(Delivery.id).where(Delivery.task_id == Task.id).exists()
        with self.session() as s:
            return list(
                s.scalars(
                    select(Task.id).where(
                        Task.status.in_([f.value for f in FINAL]),
                        Task.callbackurl != "",
                        ~has_delivery,
                    )
                )
            )
