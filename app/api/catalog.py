"""The op registry, the book's examples, and expressions: what the editor's palette and menus read."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.api.errors import error_response
from app.api.schemas import ERRORS, ExampleList, ExpressionIn, GraphOut, OpList
from app.graph.examples import EXAMPLES, get_example, list_examples
from app.graph.expr import parse_expression
from app.graph.model import parse_graph
from app.graph.ops import REGISTRY

router = APIRouter(prefix="/api", tags=["catalog"])


@router.get("/ops", response_model=OpList)
async def list_ops() -> dict:
    """Every op: name, arity, params, forward rule and local derivative (text and LaTeX)."""
    return {"ops": [op.describe() for op in REGISTRY.values()]}


@router.get("/examples", response_model=ExampleList)
async def examples() -> dict:
    """The book's example graphs."""
    return {"examples": list_examples()}


@router.get("/examples/{name}", response_model=GraphOut, responses={404: ERRORS[422]})
async def example(name: str) -> JSONResponse:
    """One example as graph JSON."""
    if name not in EXAMPLES:
        return error_response(404, f"no example named '{name[:80]}' (examples: {', '.join(EXAMPLES)})")
    return JSONResponse(get_example(name))


@router.post("/expressions", response_model=GraphOut, responses=ERRORS)
async def expression(body: ExpressionIn, request: Request) -> JSONResponse:
    """Expression text, e.g. (x + y) ** 2, as graph JSON; variables become input nodes."""
    limits = request.app.state.settings.limits
    graph = parse_expression(body.expression, body.values, limits)
    parse_graph(graph, limits)  # the values are checked here, naming the variable's node
    return JSONResponse(graph)
