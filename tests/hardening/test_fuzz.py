"""Schema fuzzing: schemathesis drives every operation of the OpenAPI document in-process (ASGI).

Every check schemathesis has runs on every case: no 5xx, the status code, content type, headers and
body as declared, schema-violating input rejected, valid input accepted (or refused for what the
schema cannot say: a graph's ids, arities and shapes are checked by the engine, hence 413/422 are
accepted answers to schema-valid graphs). On top, every 4xx must say what was wrong.

Ids in paths are drawn half of the time from things that exist (a finished run, a saved graph, the
examples), so the operations on runs answer more than 404. Training runs are real (worker processes)
but tiny: a valid config is shrunk before it is sent, the app allows 3 run starts, and the last test
stops every worker. Examples per operation: BACKPROP_LAB_FUZZ_EXAMPLES (default 50, about a minute on two cores).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis.config import SchemathesisConfig
from schemathesis.core import NOT_SET
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import negative_data_rejection

from app.config import Settings
from app.graph.examples import EXAMPLES, get_example
from app.main import create_app

from support.hardening import FUZZ_CASES, FUZZ_SECONDS, TINY, shrink_body

MAX_EXAMPLES = int(os.environ.get("BACKPROP_LAB_FUZZ_EXAMPLES", "50"))
SETTINGS = Settings(data_dir=Path(tempfile.mkdtemp(prefix="backprop-lab-fuzz-")), max_running=1, queue_size=1,
                    max_active_per_client=2, run_starts_per_minute=1, run_start_burst=3)


def existing_things() -> tuple[str, str]:
    """A finished run and a saved graph in the data directory, made through the API of another app."""
    with TestClient(create_app(replace(SETTINGS, run_start_burst=100))) as client:
        run = client.post("/api/runs", json=TINY).json()
        graph = client.post("/api/graphs", json=get_example("apple")).json()
        deadline = time.monotonic() + 60
        while client.get(f"/api/runs/{run['id']}").json()["status"] != "done":
            assert time.monotonic() < deadline, "the seed run did not finish"
            time.sleep(0.05)
    return run["id"], graph["id"]


RUN_ID, GRAPH_ID = existing_things()
app = create_app(SETTINGS)
config = SchemathesisConfig.from_dict({
    "dictionaries": {"runs": {"values": [RUN_ID]}, "graphs": {"values": [GRAPH_ID]}, "examples": {"values": list(EXAMPLES)}},
    "parameters": {"path.run_id": {"dictionary": "runs", "probability": 0.5},
                   "path.graph_id": {"dictionary": "graphs", "probability": 0.5},
                   "path.name": {"dictionary": "examples", "probability": 0.5}},
    "generation": {"max-examples": MAX_EXAMPLES},
    # A gradient check is a second of CPU even when shrunk: a few cases show its shape.
    "operations": [{"include-path": "/api/gradient-check", "generation": {"max-examples": 3}}],
    "request-timeout": 10,
    "checks": {
        "positive_data_acceptance": {"expected-statuses": ["2xx", "403", "404", "409", "413", "422", "429"]},
        # A body past max_body_bytes is refused by size (413) before anyone reads it.
        "negative_data_rejection": {"expected-statuses": ["400", "404", "405", "409", "413", "422", "429"]},
    },
})
schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)

# Reason phrases alone say nothing about what was wrong.
BARE = {"bad request", "not found", "method not allowed", "unprocessable entity", "unprocessable content",
        "too many requests", "request entity too large", "conflict", "forbidden", "internal server error"}


def assert_useful_error(response: object) -> None:
    body = response.json()  # type: ignore[attr-defined]
    detail = body["detail"]
    assert isinstance(detail, str) and len(detail) >= 12 and detail.strip().lower() not in BARE, detail
    assert body["errors"] and all(isinstance(e["message"], str) and e["message"] for e in body["errors"]), body


def accepts_null_body(label: str) -> bool:
    method, path = label.split(" ", 1)
    body = app.openapi()["paths"][path][method.lower()].get("requestBody", {})
    return {"type": "null"} in body.get("content", {}).get("application/json", {}).get("schema", {}).get("anyOf", [])


@pytest.fixture(scope="module", autouse=True)
def stop_the_app() -> Iterator[None]:
    yield
    asgi.shutdown_lifespans()  # the app's shutdown stops its workers; idempotent after the last test


@schema.parametrize()
def test_api(case: schemathesis.Case) -> None:
    case.body = shrink_body(case.operation.label, case.body)
    t = time.perf_counter()
    excluded = []
    if (case.body is None or case.body is NOT_SET) and accepts_null_body(case.operation.label):
        # schemathesis counts JSON null as a violation even where the body schema is anyOf [model, null],
        # and now and then sends an optional body's absence as a "negative" case with nothing negated
        excluded.append(negative_data_rejection)
    response = case.call_and_validate(excluded_checks=excluded)
    FUZZ_CASES.setdefault(case.operation.label, Counter())[response.status_code] += 1
    FUZZ_SECONDS[case.operation.label] = FUZZ_SECONDS.get(case.operation.label, 0.0) + time.perf_counter() - t
    if 400 <= response.status_code < 500:
        assert_useful_error(response)


def test_the_openapi_declares_the_one_error_model_wherever_errors_happen() -> None:
    spec = app.openapi()
    text = json.dumps(spec)
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', text))
    assert refs <= set(spec["components"]["schemas"]), "dangling $ref"
    assert "HTTPValidationError" not in text
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            codes = op["responses"]
            assert any(c.startswith("2") for c in codes), f"{method} {path}: no success response"
            for code, response in codes.items():
                if code[0] in "45":
                    assert response["content"] == error and response["description"], f"{method} {path} {code}"
            if "requestBody" in op:
                assert {"400", "413", "422"} <= set(codes), f"{method} {path}"
            if "{" in path:
                assert "404" in codes, f"{method} {path}"
    assert "Retry-After" in spec["paths"]["/api/runs"]["post"]["responses"]["429"]["headers"]
    assert set(spec["paths"]["/api/graphs/export/python"]["post"]["responses"]["200"]["content"]) == {"text/x-python"}


def test_the_fuzzing_covered_every_operation_and_left_no_worker() -> None:
    operations = {f"{method.upper()} {path}" for path, item in app.openapi()["paths"].items() for method in item}
    ran = set(FUZZ_CASES)
    assert ran == operations or not ran, operations - ran  # (empty when only this test was selected)
    runs = {row["id"] for row in app.state.jobs.runs.list(limit=10_000, offset=0)[0]} - {RUN_ID}
    assert runs or not ran  # the fuzzing started runs
    asgi.shutdown_lifespans()
    # This app's workers only: other tests' servers share this process and may still train.
    assert not [p.name for p in multiprocessing.active_children() if p.name.removeprefix("run-") in runs]
