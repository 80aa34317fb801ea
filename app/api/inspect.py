"""Inside a run's net: W1's columns as images, the test-set confusion matrix and its mistakes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from app.api.errors import error_response
from app.api.schemas import ErrorOut
from app.data import DatasetError
from app.store.runs import ACTIVE
from app.training.inspect import GALLERY_MAX, InspectCache, evaluate_test_set, w1_images
from app.training.jobs import JobManager

router = APIRouter(prefix="/api/runs", tags=["inspect"])
ERR = {code: {"model": ErrorOut} for code in (404, 409, 422)}


class W1Out(BaseModel):
    run_id: str
    status: str
    iteration: int
    units: int = Field(description="hidden units, one image each")
    shape: list[int] = Field(description="[rows, cols] of each image")
    min: list[float] = Field(description="each unit's smallest weight (byte 0)")
    max: list[float] = Field(description="each unit's largest weight (byte 255)")
    data: str = Field(description="base64 of units*rows*cols bytes, unit after unit, min/max-normalised per unit")


class Mistake(BaseModel):
    index: int = Field(description="index in the test set")
    label: int
    predicted: int
    confidence: float = Field(description="the probability of the (wrong) prediction")
    label_probability: float
    image: str = Field(description="base64 of rows*cols bytes, 0 = background, 255 = ink")


class Misclassified(BaseModel):
    total: int
    items: list[Mistake]


class InspectOut(BaseModel):
    run_id: str
    status: str
    iteration: int
    cached: bool = Field(description="true when the figures came from the cache (a finished run's weights file, or the training run's current snapshot already scored)")
    dataset: str
    count: int = Field(description="test images evaluated (the run's test_limit, or the whole test set)")
    correct: int
    accuracy: float
    classes: list[str]
    confusion: list[list[int]] = Field(description="confusion[true][predicted] counts")
    misclassified: Misclassified


def jobs(request: Request) -> JobManager:
    return request.app.state.jobs


def cache(request: Request) -> InspectCache:
    state = request.app.state
    if not hasattr(state, "inspect_cache"):
        state.inspect_cache = InspectCache()
    return state.inspect_cache


async def _run_and_weights(request: Request, run_id: str) -> tuple[dict[str, Any], Any] | JSONResponse:
    run = await run_in_threadpool(jobs(request).runs.get, run_id)
    if run is None:
        return error_response(404, f"no run with id '{run_id[:40]}'")
    weights = await run_in_threadpool(jobs(request).current_weights, run_id)
    if weights is None:
        return error_response(409, f"run '{run_id}' has no weights yet (status {run['status']}); try again in a moment")
    job = jobs(request).live(run_id)
    run = {**run, "status": job.status if job else run["status"], "iteration": job.iteration if job else run["iteration"]}
    return run, weights


@router.get("/{run_id}/w1", response_model=W1Out, responses=ERR)
async def w1(run_id: str, request: Request) -> Any:
    """W1's columns (what each hidden unit looks for) as compact images, from the newest weights."""
    found = await _run_and_weights(request, run_id)
    if isinstance(found, JSONResponse):
        return found
    run, weights = found
    images = await run_in_threadpool(w1_images, weights["W1"])
    return {"run_id": run_id, "status": run["status"], "iteration": run["iteration"], **images}


@router.get("/{run_id}/inspect", response_model=InspectOut, responses=ERR)
async def inspect(run_id: str, request: Request,
                  gallery: Annotated[int, Query(ge=0, le=GALLERY_MAX, description="mistakes to send, most confident first")] = 60,
                  ) -> Any:
    """The test-set confusion matrix and the misclassified images (cached per weights file once a run has
    finished, and per weight snapshot while it trains)."""
    found = await _run_and_weights(request, run_id)
    if isinstance(found, JSONResponse):
        return found
    run, weights = found
    config = run["config"]

    def compute() -> dict[str, Any]:
        return evaluate_test_set(weights, config, gallery)

    try:
        path = jobs(request).weights_path(run_id)
        if run["status"] in ACTIVE:  # live weights: scored once per snapshot, for every viewer
            figures, cached = await run_in_threadpool(cache(request).get_live, run_id, weights, gallery, compute)
        elif not path.exists():
            # a finished run still served from memory without a saved file
            # (a failed or killed worker, a database being retried): nothing stable to cache on
            figures, cached = await run_in_threadpool(compute), False
        else:
            figures, cached = await run_in_threadpool(cache(request).get, run_id, path, gallery, compute)
    except DatasetError as e:
        return error_response(409, f"run '{run_id}': its dataset cannot be loaded here ({e})")
    return {"run_id": run_id, "status": run["status"], "iteration": run["iteration"], "cached": cached,
            "dataset": config.get("dataset", "mnist"), **figures}
