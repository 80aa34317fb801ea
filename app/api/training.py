"""The gradient check, and the datasets the net trains on (with sample images for the browser)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from app.api.errors import error_response
from app.api.schemas import ErrorOut
from app.data import DatasetError, available_datasets, sample_images
from app.data.mnist import KNOWN
from app.nn.gradcheck import DEFAULT_SEED, KINK_SEED, gradient_check
from app.training.config import KNOWN_SIZES

router = APIRouter(prefix="/api", tags=["training"])
_checks = asyncio.Semaphore(1)  # a check is seconds of CPU: one at a time per server


class GradCheckIn(BaseModel):
    # strict: JSON false is not seed 0
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [{"seed": KINK_SEED}]})

    seed: int | None = Field(None, ge=0, le=2**32 - 1,
                             description=f"weight init seed; null = {DEFAULT_SEED} (clean); {KINK_SEED} hits a ReLU kink")
    hidden_size: int = Field(50, ge=1, le=100, description="hidden units (the numerical gradient's cost grows with it)")


PerParam = dict[Literal["W1", "b1", "W2", "b2"], float]


class KinkOut(BaseModel):
    h: float
    units: list[int] = Field(description="hidden units whose |pre-activation| < h on some image")
    closest: list[float] = Field(description="min |pre-activation| of each of those units")
    entries: dict[Literal["W1", "b1"], int] = Field(description="entries whose +-h perturbation crosses a kink")
    nearest: float = Field(description="the smallest |pre-activation| of any unit on any image")


class GradCheckOut(BaseModel):
    seed: int
    hidden_size: int
    images: int
    diffs: PerParam = Field(description="mean |backprop - numerical| per parameter, as the book prints")
    diffs_without_kinks: PerParam
    eps_bias: PerParam = Field(description="mean |backprop - exact gradient of the loss with its 1e-7|")
    diffs_exact: PerParam = Field(description="mean |exact - numerical|, kink units left out")
    kink: KinkOut
    backprop_seconds: float
    numerical_seconds: float
    speedup: float
    passed: bool = Field(description="every diff without kink units below 1e-6")
    explanation: str


class DatasetOut(BaseModel):
    name: str
    title: str
    available: bool
    classes: list[str]
    train_size: int | None
    test_size: int | None


class DatasetList(BaseModel):
    datasets: list[DatasetOut]


class SamplesOut(BaseModel):
    dataset: str
    split: Literal["train", "test"]
    shape: list[int] = Field(description="[rows, cols] of each image")
    classes: list[str]
    indices: list[int]
    labels: list[int]
    images: list[list[float]] = Field(description="rows*cols pixels in [0, 1] each, as the net sees them")


ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorOut} for code in (404, 422, 429)}


@router.post("/gradient-check", response_model=GradCheckOut, responses=ERRORS)
async def check_gradients(body: GradCheckIn | None = None) -> Any:
    """The book's gradient check on 3 MNIST images: four diffs, the kink report, and each method's time."""
    body = body or GradCheckIn()
    if _checks.locked():
        return error_response(429, "a gradient check is already running; try again in a few seconds",
                              headers={"Retry-After": "5"})
    async with _checks:
        seed = DEFAULT_SEED if body.seed is None else body.seed
        result = await run_in_threadpool(gradient_check, seed=seed, hidden_size=body.hidden_size)
    return result.to_dict()


@router.get("/datasets", response_model=DatasetList)
async def datasets() -> dict[str, Any]:
    """Datasets by name, whether each is installed here, its classes and sizes."""
    return {"datasets": [{"name": d["name"], "title": d["title"], "available": d["available"],
                          "classes": list(KNOWN[d["name"]][2]),
                          "train_size": KNOWN_SIZES.get(d["name"], (None, None))[0],
                          "test_size": KNOWN_SIZES.get(d["name"], (None, None))[1]}
                         for d in available_datasets()]}


@router.get("/datasets/{name}/samples", response_model=SamplesOut, responses=ERRORS)
async def samples(name: Annotated[str, Path(max_length=100)],
                  split: Literal["train", "test"] = "test",
                  n: Annotated[int, Query(ge=1, le=100, description="how many images")] = 16,
                  offset: Annotated[int, Query(ge=0, le=1_000_000, description="first index (without seed)")] = 0,
                  seed: Annotated[int | None, Query(ge=0, le=2**32 - 1, description="n random images")] = None,
                  ) -> Any:
    """Images of a dataset as the net sees them: n from offset, or n random ones for a seed."""
    if name not in KNOWN:  # names only: the API never reads a directory a client names
        return error_response(404, f"no dataset named '{name[:80]}' (datasets: {', '.join(KNOWN)})",
                              [{"node": None, "field": "name", "message": f"unknown dataset; use one of {', '.join(KNOWN)}"}])
    try:
        return await run_in_threadpool(sample_images, name, split, n, offset, seed)
    except DatasetError as e:
        if not next(d["available"] for d in available_datasets() if d["name"] == name):
            return error_response(404, str(e), [{"node": None, "field": "name", "message": str(e)}])
        return error_response(422, str(e), [{"node": None, "field": "offset", "message": str(e)}])
