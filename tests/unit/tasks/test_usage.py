"""Usage: each ending records the seconds a worker held the task; figures per project add up."""

from __future__ import annotations

import time

from subject2video.api.files import OutputLinks
from subject2video.api.wiro.wire import task_dict
from subject2video.engines.camera import CameraEngine
from subject2video.tasks.lifecycle import Lifecycle
from subject2video.tasks.service import TaskRef
from subject2video.tasks.usage import project_usage
from tests.unit.tasks.conftest import Harness
from tests.utils.images import cat_jpeg

SHORT = {"seconds": 2, "short_side": 480}


def test_engine_seconds_and_usage_per_project(harness: Harness) -> None:
    runner = harness.runner(CameraEngine())
    done, cancelled = (harness.submit(**SHORT) for _ in range(2))
    started = time.time()
    runner.run(done.id)
    held = time.time() - started
    failed_image = harness.submit(image=cat_jpeg(), **SHORT)
    runner.run(failed_image.id)
    harness.service.cancel(harness.project, TaskRef(task_id=cancelled.id))
    other = harness.store.create_project("other")

    finished = harness.task(done.id)
    assert 0 < finished.engine_seconds <= held
    assert finished.engine_seconds >= finished.endtime - finished.starttime
    assert harness.task(cancelled.id).engine_seconds == 0  # never claimed: nothing used
    assert harness.task(failed_image.id).engine_seconds > 0

    outputs = harness.store.outputs([done.id])[done.id]
    links = OutputLinks("http://x", harness.service.accesskey_of)
    detail = task_dict(finished, outputs, links, price=0.25, token="t")
    assert detail["cps"] == "0.250000000000"
    assert float(detail["totalcost"]) == round(finished.engine_seconds * 0.25, 12)

    mine, theirs = project_usage(harness.store, price=0.25)
    assert (mine.tasks, mine.finished, mine.failed, mine.cancelled) == (3, 1, 1, 1)
    seconds = sum(harness.task(t.id).engine_seconds for t in (done, failed_image))
    assert abs(mine.engine_seconds - seconds) < 1e-9
    assert mine.output_bytes == sum(o.size for o in outputs) > 0
    assert abs(mine.cost - seconds * 0.25) < 1e-9
    assert (theirs.project_id, theirs.tasks, theirs.output_bytes) == (other.id, 0, 0)
    # A period that starts after every task, and one project only.
    [later] = project_usage(
        harness.store, price=0.25, since=time.time() + 1, project_id=harness.project.id
    )
    assert (later.tasks, later.engine_seconds) == (0, 0.0)


def test_a_worker_ending_records_its_seconds_too(harness: Harness) -> None:
    task = harness.submit(**SHORT)
    harness.start(task.id)
    lifecycle = Lifecycle(harness.settings, harness.store, harness.events.append)
    assert lifecycle.cancel(task.id)
    assert harness.task(task.id).engine_seconds > 0
