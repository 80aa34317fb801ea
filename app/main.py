"""create_app(): settings, storage, routers, static files and templates, assembled."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from app import __version__
from app.api import catalog, errors, graphs, inspect, meta, pages, runs, training
from app.config import Settings
from app.middleware import BodyLimit, SecurityHeaders
from app.store import Store
from app.store.runs import RunStore
from app.training.jobs import JobManager
from app.training.worker import training_cpus
from app.web import web_dir


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.store = Store(settings.data_dir)
        app.state.jobs = JobManager(RunStore(app.state.store), settings.data_dir, settings.max_running,
                                    settings.queue_size, settings.max_active_per_client,
                                    cpus=training_cpus(settings.server_cpus))
        app.state.jobs.start()
        # What start-up made (modules, routes, schemas) lives as long as the server: out of the collector's
        # way, so a full collection scans what requests made, not 8 ms of libraries in the middle of one.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            await run_in_threadpool(app.state.jobs.shutdown)

    # /docs is the app's own page over vendored Swagger UI (app/api/pages.py); ReDoc would need a CDN.
    app = FastAPI(title="Backprop Lab", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Computation graphs with their forward values and gradients, after chapter 5 of Deep Learning from Scratch.")
    app.state.settings = settings
    app.state.templates = Jinja2Templates(directory=str(web_dir("templates")))
    errors.install(app)
    for module in (graphs, catalog, runs, inspect, training, meta, pages):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=str(web_dir("static")), check_dir=False), name="static")
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["*"], allow_headers=["*"])
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    return app


def __getattr__(name: str) -> FastAPI:
    # `app.main:app` is built on first use, so importing this module reads no environment.
    if name == "app":
        globals()["app"] = create_app()
        return globals()["app"]
    raise AttributeError(name)
