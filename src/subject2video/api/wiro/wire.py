"""Wiro's Detail format: tasks as its wire shows them, every value a string, times in unix
seconds (spec: Detail)."""

from __future__ import annotations

from typing import Any

from subject2video.api.files import OutputLinks
from subject2video.tasks.models import Output, Task, elapsed_seconds

_TIME_FIELDS = (
    "createtime",
    "accepttime",
    "assigntime",
    "preprocessstarttime",
    "preprocessendtime",
    "starttime",
    "endtime",
    "postprocessstarttime",
    "postprocessendtime",
    "canceltime",
)


def money(value: float) -> str:
    """A price or cost as Wiro writes it: twelve decimals."""
    return f"{value:.12f}"


def _unix(value: float | None) -> str:
    return str(int(value)) if value else "0"


def output_dict(output: Output, task: Task, links: OutputLinks) -> dict[str, Any]:
    return {
        "id": output.id,
        "name": output.name,
        "contenttype": output.contenttype,
        "parentid": task.uuid.replace("-", ""),
        "uuid": task.uuid,
        "size": str(output.size),
        "addedtime": _unix(output.addedtime),
        "modifiedtime": _unix(output.addedtime),
        "accesskey": links.accesskey(output),
        "expiretime": _unix(output.expiretime) if output.expiretime else None,
        "url": links.url(output),
    }


def task_dict(
    task: Task, outputs: list[Output], links: OutputLinks, price: float = 0.0, *, token: str
) -> dict[str, Any]:
    """The Detail representation of one task; `price` per engine second (S2V_PRICE_PER_SECOND)
    gives `cps` and `totalcost` (the engine seconds are recorded when the task ends); `token` is
    its socket access token in clear (the store keeps it sealed: TaskService.token_of), as
    `links` opens its outputs' access keys."""
    outs = [output_dict(o, task, links) for o in outputs]
    data: dict[str, Any] = {
        "id": str(task.id),
        "uuid": task.uuid,
        "name": "",
        "socketaccesstoken": token,
        "parameters": task.parameters,
        "debugoutput": task.debugoutput,
        "debugerror": task.debugerror,
        "status": task.status,
        "pexit": task.pexit if task.pexit is not None else "",
        "elapsedseconds": f"{elapsed_seconds(task):.4f}",
        "cps": money(price),
        "totalcost": money(price * (task.engine_seconds or 0.0)),
        "projectid": str(task.project_id),
        "modelslugowner": task.modelslugowner,
        "modelslugproject": task.modelslugproject,
        "runtype": "model",
        "callbackurl": task.callbackurl,
        "progress": task.progress,
        "outputs": outs,
        "size": str(sum(o.size for o in outputs)),
    }
    for name in _TIME_FIELDS:
        data[name] = _unix(getattr(task, name))
    return data
