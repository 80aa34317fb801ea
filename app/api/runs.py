"""Training runs: start, list, follow (SSE), stop, delete, predict, download."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent

from app.api.errors import error_response
from app.api.run_schemas import PredictIn, PredictOut, RunCreated, RunDetail, RunList, RunStopped
from app.api.schemas import ErrorOut
from app.ratelimit import TokenBuckets
from app.training.config import TrainConfig
from app.training.jobs import JobError, JobManager
from app.training.runs_view import run_detail, run_metrics_csv, run_summary

router = APIRouter(prefix="/api/runs", tags=["runs"])
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before trying again", "schema": {"type": "integer"}}}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The error responses an operation can send (the error shape is filled in by app.api.errors)."""
    return {code: {"model": ErrorOut, **({"headers": RETRY_AFTER} if code in (429, 503) else {})} for code in codes}


def content(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"description": description, "content": {media_type: {"schema": {"type": "string", "format": "binary"}}}}}


Auth = Annotated[str | None, Header(description="Bearer <token> from POST /api/runs")]


def jobs(request: Request) -> JobManager:
    return request.app.state.jobs


def run_starts(request: Request) -> TokenBuckets:
    """The per-client token buckets for starting runs, made from the settings on first use."""
    state = request.app.state
    if not hasattr(state, "run_starts"):
        settings = state.settings
        state.run_starts = TokenBuckets(settings.run_starts_per_minute, settings.run_start_burst)
    return state.run_starts


def job_error(e: JobError) -> JSONResponse:
    headers = {"Retry-After": str(e.retry_after)} if e.retry_after else None
    return error_response(e.status, e.message, headers=headers)


async def _get(request: Request, run_id: str) -> dict[str, Any] | JSONResponse:
    run = await run_in_threadpool(jobs(request).runs.get, run_id)
    return run if run is not None else error_response(404, f"no run with id '{run_id[:40]}'")


@router.post("", status_code=201, response_model=RunCreated, responses=errors(422, 429, 503))
async def start_run(config: TrainConfig, request: Request) -> JSONResponse:
    """Start a training run (missing fields take the book's defaults); the token is shown only here."""
    client = request.client.host if request.client else "unknown"
    limiter = run_starts(request)
    wait = limiter.take(client)
    if wait:
        return error_response(429, f"this client starts runs too often (at most {limiter.burst} at once, then "
                                   f"{limiter.rate * 60:g} a minute: run_start_burst, run_starts_per_minute); "
                                   f"try again in {wait} s", headers={"Retry-After": str(wait)})
    try:
        run_id, token, position = await run_in_threadpool(jobs(request).submit, config.model_dump(mode="json"), client)
    except JobError as e:
        limiter.refund(client)  # refused for the queue, not for this client's pace
        return job_error(e)
    status = "queued" if position else "running"
    return JSONResponse({"id": run_id, "status": status, "position": position, "config": config.model_dump(mode="json"),
                         "token": token, "events": f"/api/runs/{run_id}/events"}, status_code=201,
                        headers={"Location": f"/api/runs/{run_id}"})


@router.get("", response_model=RunList)
async def list_runs(request: Request, limit: Annotated[int, Query(ge=1, le=200)] = 20,
                    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> dict[str, Any]:
    """All runs, newest first, a page at a time."""
    rows, total = await run_in_threadpool(jobs(request).runs.list, limit, offset)
    return {"runs": [run_summary(r, jobs(request)) for r in rows], "total": total, "limit": limit, "offset": offset}


@router.get("/{run_id}", response_model=RunDetail, responses=errors(404))
async def get_run(run_id: str, request: Request) -> Any:
    """Status, config, progress, every recorded metric, timings and final figures."""
    run = await _get(request, run_id)
    if isinstance(run, JSONResponse):
        return run
    return await run_in_threadpool(run_detail, run, jobs(request))


async def existing_run(run_id: str, request: Request) -> dict[str, Any]:
    run = await run_in_threadpool(jobs(request).runs.get, run_id)
    if run is None:
        raise HTTPException(404, f"no run with id '{run_id[:40]}'")
    return run


@router.get("/{run_id}/events", response_class=EventSourceResponse, responses=errors(404, 422))
async def run_events(run_id: str, request: Request, run: Annotated[dict[str, Any], Depends(existing_run)],
                     last_event_id: Annotated[int | None, Header(ge=0, le=2**62)] = None,
                     after: Annotated[int | None, Query(ge=0, le=2**62, description="like Last-Event-ID, for clients that cannot set it")] = None,
                     ) -> AsyncIterator[ServerSentEvent]:
    """Server-Sent Events: status, batched losses, epoch accuracies, then done/stopped/failed and the end."""
    manager = jobs(request)
    seen = max(last_event_id or 0, after or 0)
    job = manager.live(run_id)
    if job is None:
        for seq, kind, data in await run_in_threadpool(manager.runs.events, run_id, seen):
            yield ServerSentEvent(data=data, event=kind, id=str(seq))
        return
    channel = job.channel
    while True:
        for seq, kind, data in channel.after(seen):
            seen = seq
            yield ServerSentEvent(data=data, event=kind, id=str(seq))
        if channel.closed and not channel.after(seen):
            return
        if await request.is_disconnected():
            return
        await channel.wait(seen, timeout=10)


@router.post("/{run_id}/stop", response_model=RunStopped, responses={202: {"model": RunStopped, "description": "stopping"},
                                                                    **errors(403, 404)})
async def stop_run(run_id: str, request: Request, authorization: Auth = None) -> JSONResponse:
    """Stop a run between two iterations (within a second); its metrics so far are kept."""
    try:
        await run_in_threadpool(jobs(request).check_token, run_id, authorization)
        status = await run_in_threadpool(jobs(request).stop, run_id)
    except JobError as e:
        return job_error(e)
    return JSONResponse({"id": run_id, "status": status}, status_code=202 if status == "stopping" else 200)


@router.delete("/{run_id}", status_code=204, responses=errors(403, 404))
async def delete_run(run_id: str, request: Request, authorization: Auth = None) -> Response:
    """Delete a run, its metrics and its weights (a running one is stopped first)."""
    try:
        await run_in_threadpool(jobs(request).check_token, run_id, authorization)
        await run_in_threadpool(jobs(request).delete, run_id)
    except JobError as e:
        return job_error(e)
    return Response(status_code=204)


@router.post("/{run_id}/predict", response_model=PredictOut, responses=errors(404, 409, 422))
async def predict(run_id: str, body: PredictIn, request: Request) -> Any:
    """Class probabilities for one image, and the net drawn as an evaluated graph for it."""
    from app.training.predict import PredictError, predict_image

    run = await _get(request, run_id)
    if isinstance(run, JSONResponse):
        return run
    weights = await run_in_threadpool(jobs(request).current_weights, run_id)
    if weights is None:
        return error_response(409, f"run '{run_id}' has no weights yet (status {run['status']}); try again in a moment")
    try:
        return await run_in_threadpool(predict_image, weights, run["config"], body.image, body.label, body.detail)
    except PredictError as e:
        return error_response(422, str(e), [{"node": None, "field": e.field, "message": str(e)}])


@router.get("/{run_id}/weights.npz", response_class=Response,
            responses={**content("application/octet-stream", "an .npz file"), **errors(404)})
async def download_weights(run_id: str, request: Request) -> Response:
    """The trained weights (W1, b1, W2, b2 and the config), loadable into TwoLayerNet."""
    run = await _get(request, run_id)
    if isinstance(run, JSONResponse):
        return run
    path = jobs(request).weights_path(run_id)
    if not path.exists():
        return error_response(404, f"run '{run_id}' has no saved weights (status {run['status']})")
    data = await asyncio.to_thread(path.read_bytes)
    return Response(data, media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="backprop-lab-{run_id}.npz"'})


@router.get("/{run_id}/metrics.csv", response_class=Response,
            responses={**content("text/csv", "CSV with a header row"), **errors(404)})
async def download_metrics(run_id: str, request: Request) -> Response:
    """Loss per iteration and accuracies per evaluation, as CSV."""
    run = await _get(request, run_id)
    if isinstance(run, JSONResponse):
        return run
    detail = await run_in_threadpool(run_detail, run, jobs(request))
    buf = io.StringIO(run_metrics_csv(detail))
    return Response(buf.getvalue(), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="backprop-lab-{run_id}.csv"'})
