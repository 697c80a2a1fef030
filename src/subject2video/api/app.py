"""The app factory: builds the services in the lifespan and wires the routes."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from subject2video import __version__
from subject2video.api import face, files, openapi, registry
from subject2video.api.auth import Authenticator
from subject2video.api.deps import Services, ServicesDep
from subject2video.api.errors import install_error_handlers
from subject2video.api.metrics import Metrics
from subject2video.config import Settings
from subject2video.errors import StorageError
from subject2video.media.storage import Storage, open_storage
from subject2video.tasks.bus import (
    KEYS,
    RedisBus,
    Subscriber,
    event_subscriber,
    wait_connected,
)
from subject2video.tasks.callbacks import CallbackDeliverer
from subject2video.tasks.dispatch import Dispatcher
from subject2video.tasks.dispatch.local import LocalDispatcher
from subject2video.tasks.events import EventHub, EventSink
from subject2video.tasks.service import TaskService
from subject2video.tasks.store import Store

logger = logging.getLogger(__name__)

EXPIRY_SWEEP_SECONDS = 60.0
#: The playground: static files, no build step (src/subject2video/web).
WEB_DIR = Path(__file__).resolve().parents[1] / "web"
#: The page loads only its own scripts and styles; images may come from any URL a person gives.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob: data: http: https:; "
        "media-src 'self' blob: http: https:; connect-src 'self' ws: wss:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


#: Builds the dispatcher the API hands tasks to, given the store and the event sink; in place of
#: `s2v serve`'s own choice (local engine processes, or Celery), for running everything in one
#: process (the conformance suite: tests/unit/api/test_conformance.py).
DispatcherFactory = Callable[[Settings, Store, EventSink], Dispatcher]


def create_app(settings: Settings, *, dispatcher: DispatcherFactory | None = None) -> FastAPI:
    """The API with its store, event hub, dispatcher (a local worker, or Celery, or what
    `dispatcher` builds) and callback deliverer."""

    make_dispatcher = dispatcher

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        store = Store(settings.db_url, busy_timeout=settings.db_busy_timeout_seconds)
        store.create_schema()
        if store.local_reads:
            store.bind_read_thread()
        hub = EventHub()
        hub.bind(asyncio.get_running_loop())
        metrics = Metrics(store, price=settings.price_per_second)
        hub.add_listener(metrics.on_event)
        dispatcher, publish, subscriber = (
            _dispatch(settings, store, hub)
            if make_dispatcher is None
            else (make_dispatcher(settings, store, hub.publish), hub.publish, None)
        )
        outputs = open_storage(settings, "outputs")
        services = Services(
            settings=settings,
            store=store,
            hub=hub,
            tasks=TaskService(settings, store, dispatcher, publish, outputs),
            auth=Authenticator(settings, store),
            outputs=outputs,
        )
        app.state.services = services
        keys_subscriber = _key_changes(settings, services.auth)
        app.state.metrics = metrics
        app.state.dispatcher = dispatcher
        dispatcher.start()
        # Queued tasks whose URL inputs a stopped or dead server was fetching: fetched again here
        # (the API process fetches; workers only take tasks whose inputs are stored); in
        # scale-out, a dead replica's fetches are taken over from now on (tasks/inputs.py).
        services.tasks.start()
        registry.install_callbacks()
        deliverer = CallbackDeliverer(settings, store)
        deliverer.start()
        background = [d.start(services) for d in registry.DIALECTS if d.start is not None]
        stop_sweep = threading.Event()
        if settings.output_ttl_seconds:
            threading.Thread(
                target=_sweep_expired,
                args=(store, outputs, stop_sweep),
                name="s2v-expiry",
                daemon=True,
            ).start()
        # Everything built so far lives as long as the process: keep it out of the collector's
        # full passes, which otherwise stall requests for tens of milliseconds (the tail latency).
        gc.freeze()
        drained = threading.Event()

        def drain() -> None:
            """The first stop signal (api/serving.py, on a thread of its own): refuse new tasks,
            keep answering reads, and let the workers finish; the port closes after."""
            services.tasks.draining = True
            logger.info("draining: reads go on, Run answers 503, workers finish their tasks")
            try:
                dispatcher.stop()
            finally:
                drained.set()
                logger.info("drained: closing the port")

        app.state.drain = drain
        services.ready = True
        logger.info("server ready", extra={"url": settings.base_url, "engine": settings.engine})
        try:
            yield
        finally:
            services.ready = False
            stop_sweep.set()
            # The running task may finish during the stop: its callbacks go out before the end.
            if services.tasks.draining:
                drained.wait()  # a second signal makes it quick
            else:
                dispatcher.stop()
            deliverer.stop()
            for work in background:
                work.stop()
            if subscriber is not None:
                subscriber.stop()
            if keys_subscriber is not None:
                keys_subscriber.stop()
            services.tasks.close()
            store.dispose()

    app = FastAPI(
        title="subject2video",
        version=__version__,
        description="A self-hosted, Wiro-compatible API for the MiniMax subject model.",
        lifespan=lifespan,
        # None: FastAPI's default, on through the global providers (S2V_OPENTELEMETRY).
        telemetry=None
        if settings.opentelemetry
        else {"tracing": False, "metrics": False, "logs": False},
    )
    install_error_handlers(app)
    openapi.install(app)
    app.router.routes[0:0] = [r for d in registry.DIALECTS for r in d.fast_routes]
    for dialect in registry.DIALECTS:
        if dialect.install is not None:
            dialect.install(app)
            continue
        for router in dialect.routers:
            app.include_router(router)
    app.include_router(files.router)
    app.include_router(face.router)
    app.mount("/web", StaticFiles(directory=WEB_DIR), name="web")

    @app.get("/", include_in_schema=False)
    async def playground() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html", headers=PAGE_HEADERS)

    @app.get("/healthz", summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        summary="Readiness: storage is fit for work and a worker is up",
        openapi_extra={
            "responses": {"503": {"description": "Starting, or not ready: `reason` says why"}}
        },
    )
    async def readyz(services: ServicesDep) -> JSONResponse:
        if services.tasks.draining:
            reason = "draining: the server is stopping; running tasks finish, Run answers 503"
            body = {"status": "draining", "worker": False, "reason": reason}
            return JSONResponse(body, 503)
        if not services.ready:
            return JSONResponse({"status": "starting", "worker": False, "reason": "starting"}, 503)
        worker = app.state.dispatcher.is_ready()
        # A few system calls (a probe file, free space, the database's inode), off the loop.
        reason = await run_in_threadpool(services.tasks.health.problem)
        if reason is None and not worker:
            reason = "no worker is running (it is starting, or being replaced)"
        status = "ready" if reason is None else "not ready"
        body = {"status": status, "worker": worker, "reason": reason}
        return JSONResponse(body, 200 if reason is None else 503)

    @app.get("/metrics", summary="Prometheus metrics")
    async def metrics_route() -> Response:
        return Response(app.state.metrics.render(), media_type="text/plain; version=0.0.4")

    return app


def _dispatch(
    settings: Settings, store: Store, hub: EventHub
) -> tuple[Dispatcher, EventSink, Subscriber | None]:
    """The embedded local worker; or, with a broker, Celery and events through Redis."""
    if not settings.broker_url:
        return LocalDispatcher(settings, store, hub.publish), hub.publish, None
    from subject2video.tasks.dispatch.celery import CeleryDispatcher

    url = settings.events_url or settings.broker_url
    bus = RedisBus(url)
    subscriber = event_subscriber(url, hub.publish).start()
    if not wait_connected(subscriber):
        logger.warning("redis not reachable yet; events will flow once it is")
    return CeleryDispatcher(settings, store, bus), bus.publish, subscriber


def _key_changes(settings: Settings, auth: Authenticator) -> Subscriber | None:
    """In scale-out, drop the key cache whenever `s2v keys` announces a change on Redis."""
    if not settings.events_url:
        return None
    return Subscriber(settings.events_url, KEYS, lambda _data: auth.forget()).start()


def _sweep_expired(store: Store, outputs: Storage, stop: threading.Event) -> None:
    while not stop.wait(EXPIRY_SWEEP_SECONDS):
        try:
            for output in store.expired_outputs(time.time()):
                outputs.delete(output.key)
                store.delete_output(output.id)
        except StorageError as exc:
            logger.warning("output expiry sweep waits for the store: %s", exc.message)
        except Exception:
            logger.exception("output expiry sweep failed")
