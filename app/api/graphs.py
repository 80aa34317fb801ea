"""Evaluate, save and load graphs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse

from app.api.errors import error_response
from app.api.schemas import ERRORS, Evaluation, GraphIn, GraphOut, SavedGraph
from app.graph.encode import evaluation_to_json
from app.graph.engine import evaluate
from app.graph.model import parse_graph

router = APIRouter(prefix="/api/graphs", tags=["graphs"])


class PythonScript(PlainTextResponse):
    media_type = "text/x-python"  # declared as such in the OpenAPI, not as text/plain


def _evaluate(graph: dict[str, Any], check: bool, request: Request) -> dict[str, Any]:
    return evaluation_to_json(evaluate(graph, check=check, limits=request.app.state.settings.limits))


@router.post("/evaluate", response_model=Evaluation, responses=ERRORS)
async def evaluate_graph(graph: GraphIn, request: Request, check: bool = False) -> JSONResponse:
    """Forward pass, then backward pass: every node's value and gradient, and every edge's pair."""
    data = graph.as_json()
    # Small graphs answer inline; big ones (or a gradient check) go to a thread so the loop stays free.
    heavy = check or len(data["nodes"]) > 64 or request.headers.get("content-length", "0").isdigit() and int(request.headers.get("content-length", "0")) > 20_000
    result = await run_in_threadpool(_evaluate, data, check, request) if heavy else _evaluate(data, check, request)
    return JSONResponse(result)


@router.post("", status_code=201, response_model=SavedGraph, responses=ERRORS)
async def save_graph(graph: GraphIn, request: Request) -> JSONResponse:
    """Store a graph; its id is derived from its content, so a shared link never changes."""
    data = graph.as_json()
    parse_graph(data, request.app.state.settings.limits)
    gid = await run_in_threadpool(request.app.state.store.save_graph, data)
    return JSONResponse({"id": gid, "url": f"/?g={gid}"}, status_code=201)


@router.get("/{graph_id}", response_model=GraphOut, responses={404: ERRORS[422]})
async def get_graph(graph_id: str, request: Request) -> JSONResponse:
    """A saved graph, exactly as it was stored."""
    data = await run_in_threadpool(request.app.state.store.get_graph, graph_id)
    if data is None:
        return error_response(404, f"no saved graph with id '{graph_id[:80]}'")
    return JSONResponse(data)


@router.post("/export/python", response_class=PythonScript, responses=ERRORS)
async def export_python(graph: GraphIn, request: Request) -> PythonScript:
    """A runnable numpy script that builds the graph from the book's layer classes."""
    from app.graph.pyexport import graph_to_python

    data = graph.as_json()
    parse_graph(data, request.app.state.settings.limits)
    return PythonScript(graph_to_python(data))
