"""Usage per project: tasks, finished, failed, cancelled, engine seconds, output bytes, cost.

Read from the store (so `s2v usage`, Prometheus and every API replica agree). A task's engine
seconds are the seconds a worker held it, from its last claim to its final status (recorded by
`Lifecycle.end`); a task still running counts as a task and nothing else yet. Cost is engine
seconds times `S2V_PRICE_PER_SECOND`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import case, func, select

from subject2video.tasks.models import Output, Project, Task
from subject2video.tasks.status import PEXIT_FAILED, PEXIT_SUCCEEDED, Status
from subject2video.tasks.store import Store


@dataclass
class ProjectUsage:
    """One project's figures over the period asked for."""

    project_id: int
    name: str
    tasks: int = 0
    finished: int = 0
    failed: int = 0
    cancelled: int = 0
    engine_seconds: float = 0.0
    output_bytes: int = 0
    cost: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _count(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def project_usage(
    store: Store, *, price: float, since: float | None = None, project_id: int | None = None
) -> list[ProjectUsage]:
    """Every project's usage (or one's), counting tasks created at or after `since`."""
    where = []
    if since is not None:
        where.append(Task.createtime >= since)
    if project_id is not None:
        where.append(Task.project_id == project_id)
    per_task = select(
        Task.project_id,
        func.count(Task.id),
        _count(Task.pexit == PEXIT_SUCCEEDED),
        _count(Task.pexit == PEXIT_FAILED),
        _count(Task.status == Status.cancel.value),
        func.coalesce(func.sum(Task.engine_seconds), 0.0),
    ).where(*where)
    per_output = (
        select(Task.project_id, func.coalesce(func.sum(Output.size), 0))
        .join(Output, Output.task_id == Task.id)
        .where(*where)
    )
    projects = select(Project.id, Project.name).order_by(Project.id)
    if project_id is not None:
        projects = projects.where(Project.id == project_id)
    with store.session() as s:
        found = {pid: ProjectUsage(pid, name) for pid, name in s.execute(projects)}
        for pid, tasks, finished, failed, cancelled, seconds in s.execute(
            per_task.group_by(Task.project_id)
        ):
            if pid in found:
                row = found[pid]
                row.tasks, row.finished, row.failed, row.cancelled = (
                    tasks,
                    finished,
                    failed,
                    cancelled,
                )
                row.engine_seconds = float(seconds)
                row.cost = row.engine_seconds * price
        for pid, size in s.execute(per_output.group_by(Task.project_id)):
            if pid in found:
                found[pid].output_bytes = int(size)
    return list(found.values())
