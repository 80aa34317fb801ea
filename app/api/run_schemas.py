"""Request and response models of the runs API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.api.schemas import Evaluation

Status = Literal["queued", "running", "done", "stopped", "failed", "interrupted"]
StopStatus = Literal["stopping", "queued", "running", "done", "stopped", "failed", "interrupted"]


class RunCreated(BaseModel):
    id: str
    status: Status
    position: int | None = Field(description="place in the queue while queued")
    config: dict[str, Any]
    token: str = Field(description="authorises stop and delete; shown only once")
    events: str


class RunStopped(BaseModel):
    id: str
    status: StopStatus = Field(description="'stopping' until the worker has stopped, or the status it already had")


class Progress(BaseModel):
    iteration: int
    iterations: int
    fraction: float


class Final(BaseModel):
    train_acc: float | None = None
    test_acc: float | None = None
    loss: float | None = None


class RunSummary(BaseModel):
    id: str
    status: Status
    position: int | None
    config: dict[str, Any]
    progress: Progress
    created: float
    started: float | None
    finished: float | None
    final: Final | None
    error: str | None


class RunList(BaseModel):
    runs: list[RunSummary]
    total: int
    limit: int
    offset: int


class Epoch(BaseModel):
    model_config = {"extra": "allow"}

    iteration: int
    train_acc: float
    test_acc: float


class Metrics(BaseModel):
    loss: list[float]
    epochs: list[Epoch]


class Timings(BaseModel):
    queued_seconds: float | None
    seconds: float | None
    train_seconds: float | None


class RunDetail(RunSummary):
    metrics: Metrics
    summary: dict[str, Any] | None
    last_event_id: int
    timings: Timings


class PredictIn(BaseModel):
    image: list[Any] = Field(description="784 floats in [0, 1], or 28 rows of 28", min_length=28, max_length=784)
    label: int | None = Field(default=None, ge=0, le=9, strict=True, description="class whose loss is backpropagated (default: the prediction)")
    detail: Literal["summary", "full"] = Field(default="summary", description="'full' sends every weight in the graph")


class PredictOut(BaseModel):
    probabilities: list[float]
    predicted: int
    label: int
    loss: float
    graph: Evaluation
