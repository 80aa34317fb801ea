"""Request and response models: what the OpenAPI document promises (the engine re-checks every value)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat

# Strict: JSON true or "1.5" is not a number (lax pydantic would turn them into 1.0 and 1.5 silently).
Tensor = StrictFloat | list[Any]
Number = float | str  # a finite number, or "NaN" / "Infinity" / "-Infinity"
TensorOut = Number | list[Any] | None


class NodeIn(BaseModel):
    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{"id": "apple", "op": "input", "value": 100}]})

    id: str = Field(min_length=1, max_length=100)
    op: str = Field(min_length=1, max_length=64)
    inputs: list[str] = Field(default_factory=list, max_length=16, description="node ids in argument order")
    value: Tensor | None = Field(default=None, description="a number or a nested list (input and const nodes)")
    params: dict[str, Any] | None = Field(default=None, description="per-op options, e.g. {'axis': 0}")
    label: str | None = Field(default=None, max_length=200)


class GraphIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    nodes: list[NodeIn] = Field(min_length=1)
    output: str | None = Field(default=None, description="may be left out when the graph has exactly one sink")
    grad: Tensor | None = Field(default=None, description="upstream gradient seeded at the output (default ones)")

    def as_json(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class NodeOut(BaseModel):
    op: str
    value: TensorOut
    shape: list[int]
    grad: TensorOut
    label: str | None = None
    stats: dict[str, dict[str, float] | None] | None = Field(
        default=None, description="min/max/mean/norm of value and grad, when a big tensor is sent as a summary")


class EdgeOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(alias="from")
    to: str
    slot: int
    value: TensorOut
    grad: TensorOut


class Warning_(BaseModel):
    node: str
    message: str


class CheckOut(BaseModel):
    numerical: TensorOut
    backprop: TensorOut
    max_abs_error: Number = Field(description='a number, or "NaN" / "Infinity" when a value was not finite')
    max_rel_error: Number
    ok: bool = Field(description="max_rel_error below 1e-4")


class Evaluation(BaseModel):
    output: str
    order: list[str]
    nodes: dict[str, NodeOut]
    edges: list[EdgeOut]
    warnings: list[Warning_]
    check: dict[str, CheckOut] | None = None


class ErrorItem(BaseModel):
    model_config = ConfigDict(extra="allow")

    node: str | None = None
    field: str | None = None
    message: str


class ErrorOut(BaseModel):
    detail: str
    errors: list[ErrorItem]


ERRORS = {413: {"model": ErrorOut, "description": "a size limit was exceeded"},
          422: {"model": ErrorOut, "description": "the request names a bad node, field or value"}}


class OpParam(BaseModel):
    type: str
    default: Any = None
    description: str = ""
    minimum: float | None = None


class OpInfo(BaseModel):
    name: str
    symbol: str
    arity: int
    inputs: list[str]
    params: dict[str, OpParam]
    forward: str
    forward_latex: str
    backward: str
    backward_latex: str
    description: str
    category: str


class OpList(BaseModel):
    ops: list[OpInfo]


class ExampleInfo(BaseModel):
    name: str
    title: str
    description: str


class ExampleList(BaseModel):
    examples: list[ExampleInfo]


class ExpressionIn(BaseModel):
    expression: str = Field(max_length=100_000, examples=["(x + y) ** 2"])
    values: dict[str, Tensor] = Field(default_factory=dict, examples=[{"x": 3, "y": -1}])


class GraphOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    nodes: list[dict[str, Any]]
    output: str | None = None


class SavedGraph(BaseModel):
    id: str
    url: str
