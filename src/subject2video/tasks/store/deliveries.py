"""Callback deliveries."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    and_,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from subject2video.tasks.models import COMPLETED, Delivery, Task
from subject2video.tasks.status import FINAL
from subject2video.tasks.store.engine import StoreBase

#: Pages of due deliveries `lease_due_deliveries` looks through for ones its caller accepts.
MAX_DELIVERY_PAGES = 20


class Deliveries(StoreBase):
    """Callback deliveries: one per task and event (every dialect's final one, `completed`),
    leased to one process at a time."""

    # -- callback deliveries ----------------------------------------------------------------

    def add_delivery(self, delivery: Delivery) -> bool:
        """Store a delivery; False if the task already has one for its event (one per event:
        exactly one for the final status)."""
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
        only those it accepts (asked in order of due time, page by page, so that many refused
        ones, a busy receiver's, never hide the others)."""
        taken: list[Delivery] = []
        page = limit if accept is None else limit * 5
        after: tuple[float, str] | None = None
        for _ in range(MAX_DELIVERY_PAGES):
            if len(taken) >= limit:
                break
            with self.session() as s:
                query = select(Delivery).where(
                    Delivery.state == "pending", Delivery.due <= now, Delivery.lease_until < now
                )
                if after is not None:
                    query = query.where(
                        or_(
                            Delivery.due > after[0],
                            and_(Delivery.due == after[0], Delivery.id > after[1]),
                        )
                    )
                due = list(s.scalars(query.order_by(Delivery.due, Delivery.id).limit(page)))
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
            if len(due) < page or accept is None:
                break
            after = (due[-1].due, due[-1].id)
        return taken

    def set_delivery_body(self, delivery_id: str, body: str) -> None:
        """Keep a delivery's rendered body, so that every retry sends the same bytes."""
        with self.session() as s:
            s.execute(update(Delivery).where(Delivery.id == delivery_id).values(body=body))

    def delivery_bodies(self) -> list[tuple[str, str]]:
        """Every rendered delivery body as stored, by delivery id (for `s2v keys re-encrypt`)."""
        with self.session() as s:
            rows = s.execute(select(Delivery.id, Delivery.body).where(Delivery.body != ""))
            return [(r.id, r.body) for r in rows]

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
        """Final tasks with a callback URL but no delivery of their final status (`completed`): a
        process died between the final status and recording its callback."""
        has_delivery = (
            select(Delivery.id)
            .where(Delivery.task_id == Task.id, Delivery.event == COMPLETED)
            .exists()
        )
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
