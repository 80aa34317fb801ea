"""One error shape for every 4xx: {"detail": message, "errors": [{"node", "field", "message", ...}]}."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.graph.errors import GraphError


def error_response(status: int, message: str, errors: list[dict[str, Any]] | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"detail": message, "errors": errors or [{"node": None, "field": None, "message": message}]}
    return JSONResponse(body, status_code=status, headers=headers)


def _node_id(body: Any, loc: tuple[Any, ...]) -> str | None:
    """The id of the node a validation error points into (loc = body, nodes, i, ...)."""
    try:
        if loc[1] == "nodes" and isinstance(loc[2], int):
            nid = body["nodes"][loc[2]].get("id")
            return nid if isinstance(nid, str) else None
    except (IndexError, KeyError, TypeError, AttributeError):
        pass
    return None


UNION_TAGS = {"float", "int", "str", "bool", "list[any]", "dict[str,any]", "none"}


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Pydantic's errors, one per (node, field), with the node's id and the union branches folded."""
    errors: dict[tuple[str | None, str | None], dict[str, Any]] = {}
    for err in exc.errors()[:50]:
        loc = tuple(err.get("loc", ()))
        node = _node_id(getattr(exc, "body", None), loc)
        parts = [str(p) for p in (loc[1:] if loc[:1] == ("body",) else loc) if not isinstance(p, int)]
        union = bool(parts) and parts[-1].replace(" ", "").lower() in UNION_TAGS
        field = ".".join(p for p in (parts[:-1] if union else parts) if p != "nodes" or node is None) or None
        if (node, field) in errors:
            continue
        msg = "must be a number or a nested list of numbers" if union else err.get("msg", "invalid")
        if field is None and err.get("type") in ("model_attributes_type", "dict_type"):
            msg = "must be a JSON object, e.g. a graph with a list of nodes"
        where = f"node '{node}': " if node else ""
        errors[(node, field)] = {"node": node, "field": field, "message": f"{where}{field or 'body'}: {msg}",
                                 "loc": [p if isinstance(p, (int, str)) else str(p) for p in loc]}
    return list(errors.values())[:20]


def install(app: FastAPI) -> None:
    @app.exception_handler(GraphError)
    async def graph_error(request: Request, exc: GraphError) -> JSONResponse:
        return error_response(exc.status, exc.message, [exc.to_dict()])

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        return error_response(422, errors[0]["message"] if errors else "invalid request", errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = str(exc.detail)
        if exc.status_code == 400 and detail == "There was an error parsing the body":
            detail = "the request body is not valid JSON (bad UTF-8, or nested too deeply)"
        return error_response(exc.status_code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(RecursionError)
    async def too_deep(request: Request, exc: RecursionError) -> JSONResponse:
        return error_response(422, "the request nests too deeply")
