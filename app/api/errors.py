"""One error shape for every 4xx: {"detail": message, "errors": [{"node", "field", "message", ...}]}."""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.api.schemas import ErrorOut
from app.graph.errors import GraphError
from app.middleware import SECURITY_HEADERS
from app.store import StoreError

log = logging.getLogger("backprop_lab")


class ErrorJSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        # ASCII with escapes: an error quoting the client's input can always be sent, whatever it holds.
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode()


def error_response(status: int, message: str, errors: list[dict[str, Any]] | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"detail": message, "errors": errors or [{"node": None, "field": None, "message": message}]}
    return ErrorJSON(body, status_code=status, headers=headers)


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


def _body_hint(path: str) -> tuple[str, list[str] | None]:
    """What the route's body looks like, and its allowed top-level fields when it has a fixed set."""
    if path.rstrip("/") == "/api/runs":
        from app.training.config import TrainConfig

        return "a training config such as {\"iterations\": 2000}", list(TrainConfig.model_fields)
    if path.startswith("/api/graphs"):
        return "a graph with a list of nodes", None
    return "", None


def _validation_errors(exc: RequestValidationError, path: str = "") -> list[dict[str, Any]]:
    """Pydantic's errors, one per (node, field), with the node's id and the union branches folded."""
    example, allowed = _body_hint(path)
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
            msg = f"must be a JSON object, e.g. {example}" if example else "must be a JSON object"
        elif err.get("type") == "extra_forbidden":
            msg = "unknown field" + (f"; allowed: {', '.join(allowed)}" if allowed and len(parts) == 1 else "")
        where = f"node '{node}': " if node else ""
        errors[(node, field)] = {"node": node, "field": field, "message": f"{where}{field or 'body'}: {msg}",
                                 "loc": [p if isinstance(p, (int, str)) else str(p) for p in loc]}
    return list(errors.values())[:20]


# A \uXXXX escape of a UTF-16 surrogate, with the backslashes before it (an even run is escaped backslashes).
SURROGATE = re.compile(rb"(\\+)u([dD][89a-fA-F][0-9a-fA-F]{2})")


def lone_surrogate(body: bytes) -> int | None:
    """Where the JSON text escapes half a surrogate pair (\\ud800 alone): Python's json accepts it, but it is
    not Unicode, and no response quoting it could be encoded. None when every escape pairs up."""
    pos = 0
    while (m := SURROGATE.search(body, pos)) is not None:
        pos = m.end()
        if len(m.group(1)) % 2 == 0:
            continue
        if int(m.group(2), 16) >= 0xDC00:
            return m.start(1) + len(m.group(1)) - 1
        low = SURROGATE.match(body, m.end())
        if low is None or len(low.group(1)) != 1 or int(low.group(2), 16) < 0xDC00:
            return m.start(1) + len(m.group(1)) - 1
        pos = low.end()
    return None


async def unicode_body(request: Request) -> None:
    """JSON bodies must be Unicode text: a lone surrogate escape is refused before anyone uses the value."""
    if request.method in ("POST", "PUT", "PATCH") and request.url.path.startswith("/api/"):
        body = await request.body()
        try:
            body.decode("utf-8")  # JSON travels as UTF-8 (RFC 8259); Python's json also takes UTF-16 and encoded surrogates
        except UnicodeDecodeError as e:
            raise StarletteHTTPException(400, f"the request body is not UTF-8 text (byte {e.start}: {e.reason})") from None
        at = lone_surrogate(body)
        if at is not None:
            raise RequestValidationError([{"loc": ("body",), "type": "surrogate",
                                           "msg": f"a \\u escape at byte {at} is half of a UTF-16 surrogate pair, "
                                                  "which is not a character"}])


async def single_query_values(request: Request) -> None:
    """No query parameter of this API takes a list: one given twice is refused, not silently the last one kept."""
    if not request.url.path.startswith("/api/"):
        return  # pages and static files ignore their query
    seen: set[str] = set()
    for key, _ in request.query_params.multi_items():
        if key in seen:
            raise RequestValidationError([{"loc": ("query", key[:80]), "msg": "given more than once; give it once",
                                           "type": "repeated"}])
        seen.add(key)


def install(app: FastAPI) -> None:
    """Error handlers and the OpenAPI errors for ``app``; call before including the routers (their routes
    take the query check from the app's router)."""
    app.router.dependencies += [Depends(single_query_values), Depends(unicode_body)]

    @app.exception_handler(GraphError)
    async def graph_error(request: Request, exc: GraphError) -> JSONResponse:
        return error_response(exc.status, exc.message, [exc.to_dict()])

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        broken = next((e for e in exc.errors() if e.get("type") == "json_invalid"), None)
        if broken is not None:  # not JSON at all: 400, as for bad UTF-8 (FastAPI would say 422)
            where = broken.get("loc", ("body", "?"))[-1]
            return error_response(400, f"the request body is not valid JSON: {broken.get('ctx', {}).get('error', 'cannot parse')} "
                                       f"(at character {where})")
        errors = _validation_errors(exc, request.url.path)
        return error_response(422, errors[0]["message"] if errors else "invalid request", errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail, headers = str(exc.detail), getattr(exc, "headers", None)
        path = request.url.path[:200]
        if exc.status_code == 400 and detail == "There was an error parsing the body":
            detail = "the request body is not valid JSON (bad UTF-8, or nested too deeply)"
        elif exc.status_code == 404 and detail == "Not Found":
            detail = f"there is nothing at {path} (the API is listed at /docs)"
        elif exc.status_code == 405:
            # Starlette names only the first route that matched the path; the resource answers them all.
            allow = allowed_methods(request)
            headers = {**(headers or {}), "Allow": ", ".join(allow)}
            detail = f"{path} does not answer {request.method}; it answers {', '.join(allow)}"
        return error_response(exc.status_code, detail, getattr(exc, "errors", None), headers=headers)

    @app.exception_handler(RecursionError)
    async def too_deep(request: Request, exc: RecursionError) -> JSONResponse:
        return error_response(422, "the request nests too deeply")

    @app.exception_handler(sqlite3.OperationalError)
    @app.exception_handler(StoreError)
    async def storage_unavailable(request: Request, exc: Exception) -> JSONResponse:
        # A disk that filled up, or a database locked for too long, after start-up: say so, keep serving.
        log.error("storage error on %s %s: %s", request.method, request.url.path, exc)
        return error_response(503, f"the server cannot use its database right now ({exc}); try again later",
                              headers={"Retry-After": "30"})

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        # Runs outside the middleware stack, so the security headers are added here.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal error: the server could not answer this request (it has been logged)",
                              headers={k.decode(): v.decode() for k, v in SECURITY_HEADERS})

    document_errors(app)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers at this path (HEAD comes with GET)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return sorted(methods - {"HEAD"}) + (["HEAD"] if "GET" in methods else [])


# --- the OpenAPI document: one error model, declared wherever an error can happen ----------------

REF = "#/components/schemas/{model}"
DESCRIPTIONS = {
    "400": "the body is not JSON (malformed, truncated or not UTF-8)",
    "403": "the run's token is missing or wrong",
    "404": "nothing with this id",
    "409": "not possible in the run's current state",
    "413": "a size limit was exceeded (errors[0].limit names it)",
    "422": "the request names a bad node, field or value",
    "429": "too many runs or run starts for this client, or the queue is full: retry after Retry-After seconds",
    "503": "the server is shutting down or cannot use its database: retry after Retry-After seconds",
}


def document_errors(app: FastAPI) -> None:
    """Post-process the generated OpenAPI so the error responses it promises are the ones the app sends."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = declare_errors(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def declare_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Every operation: 400/413/422 where it takes a body, 422 where it takes parameters, 404 where a path
    names something; each error (declared or added) as the one ErrorOut shape, in JSON, whatever the route's
    own media type. FastAPI's default 422 model (a list of pydantic errors) is never what the app sends."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    error_model = ErrorOut.model_json_schema(ref_template=REF)
    components.update(error_model.pop("$defs", {}))
    components["ErrorOut"] = error_model
    error_content = {"application/json": {"schema": {"$ref": REF.format(model="ErrorOut")}}}
    for item in schema.get("paths", {}).values():
        for op in item.values():
            responses = op.setdefault("responses", {})
            params = op.get("parameters", [])
            codes = {code for code in responses if code[0] in "45"}
            if "requestBody" in op:
                codes |= {"400", "413", "422"}
            if params:
                codes.add("422")
            if any(p.get("in") == "path" for p in params):
                codes.add("404")
            for code in codes:
                response = responses.setdefault(code, {})
                if response.get("description") in (None, "", "Validation Error", "Additional Response"):
                    response["description"] = DESCRIPTIONS.get(code, "an error")
                response["content"] = error_content
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema
