"""Input beyond what a schema can describe: broken bytes, absurd sizes and depths, values of the wrong type.

Against a real server process at its default limits (1 MB bodies, 1000 nodes, 2000-character
expressions): every request gets a 4xx that names the problem, quickly, and the server's peak
memory hardly moves. The time bound is a hang detector, not a benchmark.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api.run_schemas import PredictIn
from app.config import Settings
from app.main import create_app
from app.training.predict import PredictError, as_image

from support.hardening import raw_http, rss_kib, status_of
from support.live_server import LiveServer

QUICK = 3.0  # seconds: far above the real figures (milliseconds), far below a hang


def chain(n: int) -> dict:
    nodes = [{"id": "n0", "op": "input", "value": 1.0}]
    nodes += [{"id": f"n{i}", "op": "neg", "inputs": [f"n{i - 1}"]} for i in range(1, n)]
    return {"nodes": nodes}


def nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


def graph_with_value(value_json: str) -> bytes:
    return b'{"nodes": [{"id": "a", "op": "input", "value": ' + value_json.encode() + b"}]}"


MB = 1_000_000
# name -> (path, body bytes, expected status)
CASES: dict[str, tuple[str, bytes, int]] = {
    "truncated JSON": ("/api/graphs/evaluate", b'{"nodes": [{"id": "a", "op": "inp', 400),
    "UTF-16 JSON": ("/api/echo", '{"a": 1}'.encode("utf-16"), 400),
    "not UTF-8": ("/api/graphs/evaluate", b'{"nodes": [{"id": "\xff\xfe\xfa", "op": "input", "value": 1}]}', 400),
    "UTF-8 of a surrogate": ("/api/graphs", b'{"nodes": [{"id": "\xed\xa0\x80", "op": "input", "value": 1}]}', 400),
    "lone surrogate escape": ("/api/graphs", b'{"nodes": [{"id": "\\ud800", "op": "input", "value": 1}]}', 422),
    "lone surrogate in an extra field": ("/api/graphs", b'{"nodes": [{"id": "a", "op": "input", "value": 1, "x": "\\udc00"}]}', 422),
    "lone surrogate echoed": ("/api/echo", b'{"a": "\\ud800"}', 422),
    "empty body": ("/api/graphs/evaluate", b"", 422),
    "JSON null": ("/api/graphs/evaluate", b"null", 422),
    "a list, not an object": ("/api/expressions", b"[1, 2, 3]", 422),
    "200,000-deep list": ("/api/graphs/evaluate", graph_with_value(nested(200_000)), 400),
    "500-deep list (parses, rank too high)": ("/api/graphs/evaluate", graph_with_value(nested(500)), 422),
    "100,000-deep params": ("/api/graphs/evaluate", b'{"nodes": [{"id": "a", "op": "sum", "params": '
                            + b'{"a": ' * 100_000 + b"1" + b"}" * 100_000 + b"}]}", 400),
    "1e400": ("/api/graphs/evaluate", graph_with_value("1e400"), 422),
    "-1e400 in a list": ("/api/graphs/evaluate", graph_with_value("[1, -1e400]"), 422),
    "a 400-digit integer": ("/api/graphs/evaluate", graph_with_value("9" * 400), 422),
    "a 400-digit integer in a list": ("/api/graphs/evaluate", graph_with_value("[" + "9" * 400 + "]"), 422),
    "a 5000-digit integer": ("/api/graphs/evaluate", graph_with_value("9" * 5000), 400),
    "10 MB body": ("/api/graphs/evaluate", b'{"nodes": [' + b" " * (10 * MB) + b"]}", 413),
    "10,000-node graph": ("/api/graphs/evaluate", json.dumps(chain(10_000)).encode(), 413),
    "10,000 nested parentheses": ("/api/expressions", json.dumps(
        {"expression": "(" * 10_000 + "x" + ")" * 10_000, "values": {"x": 1}}).encode(), 413),
    "900 nested parentheses": ("/api/expressions", json.dumps(
        {"expression": "(" * 900 + "x" + ")" * 900, "values": {"x": 1}}).encode(), 422),
    "1500 unary minuses": ("/api/expressions", json.dumps({"expression": "-" * 1500 + "x", "values": {"x": 1}}).encode(), 422),
    "a 100,000-key params object": ("/api/graphs/evaluate", json.dumps(
        {"nodes": [{"id": "a", "op": "sum", "inputs": [], "params": {f"k{i}": i for i in range(100_000)}}]}).encode(), 413),
    "100,000 inputs": ("/api/graphs/evaluate", json.dumps(
        {"nodes": [{"id": "a", "op": "add", "inputs": ["a"] * 100_000}]}).encode(), 422),
    "a 900 KB id": ("/api/graphs/evaluate", json.dumps({"nodes": [{"id": "x" * 900_000, "op": "input", "value": 1}]}).encode(), 422),
    "a 300,000-element tensor": ("/api/graphs/evaluate", graph_with_value(json.dumps([0] * 300_000)), 413),
    "run config with a path as dataset": ("/api/runs", b'{"dataset": "/etc", "iterations": 1}', 422),
}


def post(port: int, path: str, body: bytes, headers: bytes = b"") -> bytes:
    return raw_http(port, b"POST " + path.encode() + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                    b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n"
                    + headers + b"\r\n" + body)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(Settings(data_dir=tmp_path_factory.mktemp("malformed")), subprocess=True) as s:
        yield s


@pytest.mark.parametrize("name", CASES)
def test_malformed_input_is_a_quick_4xx_that_names_the_problem(server: LiveServer, name: str) -> None:
    path, body, expected = CASES[name]
    t = time.perf_counter()
    answer = post(server.port, path, body)
    seconds = time.perf_counter() - t
    assert status_of(answer) == expected, answer[:300]
    error = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert len(error["detail"]) > 15 and error["errors"][0]["message"], error
    assert seconds < QUICK, f"{name}: {seconds:.2f} s"


def test_a_body_streamed_past_the_limit_is_cut_off_at_the_limit(server: LiveServer) -> None:
    """10 MB without Content-Length (chunked): refused once 1 MB has arrived, not after reading it all."""
    head = (b"POST /api/graphs/evaluate HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b" " * 65536
    t = time.perf_counter()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(head)
        sent = 0
        try:
            while sent < 10 * MB:
                s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed: exactly the point
        answer = s.recv(65536)
    assert status_of(answer) == 413 and b"max_body_bytes" in answer
    assert time.perf_counter() - t < QUICK


def test_a_truncated_or_stalled_body_holds_up_nobody(server: LiveServer) -> None:
    # Content-Length promises 1000 bytes; 20 arrive, then the client stops writing.
    head = (b"POST /api/graphs/evaluate HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n" + b'{"nodes": [{"id": "a')
    stalled = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(20)]
    try:
        for s in stalled:
            s.sendall(head)
        t = time.perf_counter()
        with server.client() as client:
            assert client.get("/api/health").status_code == 200
            assert client.get("/api/examples/apple").status_code == 200
        assert time.perf_counter() - t < QUICK
        t = time.perf_counter()
        answer = raw_http(server.port, head, half_close=True)  # and one that ends its side: an answer or a close
        assert status_of(answer) in (0, 400) and time.perf_counter() - t < QUICK
    finally:
        for s in stalled:
            s.close()
    with server.client() as client:
        assert client.get("/api/health").status_code == 200


def test_the_whole_battery_barely_moves_peak_memory(server: LiveServer) -> None:
    """Peak RSS (VmHWM) of the server over every case three times: bounded by the limits, not the input."""
    assert server.proc is not None
    post(server.port, *CASES["10,000-node graph"][:2])  # warm up every code path once
    before = rss_kib(server.proc.pid, "VmHWM")
    for _ in range(3):
        for path, body, _ in CASES.values():
            post(server.port, path, body)
    grown_mib = (rss_kib(server.proc.pid, "VmHWM") - before) / 1024
    assert grown_mib < 64, f"peak RSS grew by {grown_mib:.0f} MiB"


def test_a_graph_at_the_node_limit_is_evaluated(server: LiveServer) -> None:
    """1000 nodes in one chain (the deepest graph allowed): values and gradients, no recursion limit."""
    with server.client() as client:
        t = time.perf_counter()
        r = client.post("/api/graphs/evaluate", json=chain(1000))
        assert r.status_code == 200 and time.perf_counter() - t < QUICK
    assert r.json()["nodes"]["n999"]["value"] == -1.0 and r.json()["nodes"]["n0"]["grad"] == -1.0  # (-1)^999


# --- values of the wrong JSON type are refused, never coerced -------------------------------------

@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(data_dir=tmp_path))) as c:
        yield c


@pytest.mark.parametrize("value", [True, "1.5", None, {"a": 1}])
def test_a_node_value_must_be_a_number_not_a_boolean_or_string(client: TestClient, value: object) -> None:
    r = client.post("/api/graphs/evaluate", json={"nodes": [{"id": "a", "op": "input", "value": value}]})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["node"] == "a" and "value" in r.json()["detail"]


def test_an_expression_variable_must_be_a_number(client: TestClient) -> None:
    r = client.post("/api/expressions", json={"expression": "x + 1", "values": {"x": True}})
    assert r.status_code == 422 and "x" in r.json()["detail"]


def test_predict_refuses_booleans_and_strings() -> None:
    with pytest.raises(ValueError):
        PredictIn.model_validate({"image": [0.0] * 784, "label": True})  # not class 1
    for image in (["0.5"] * 784, [True] * 784, [None] * 784):
        with pytest.raises(PredictError, match="784 numbers"):
            as_image(image, 784)


def test_a_repeated_query_parameter_is_refused_not_resolved_silently(client: TestClient) -> None:
    r = client.get("/api/runs", params=[("limit", "2"), ("limit", "oops")])
    assert r.status_code == 422 and "limit" in r.json()["detail"] and "more than once" in r.json()["detail"]
    assert client.get("/", params=[("g", "1"), ("g", "2")]).status_code == 200  # pages ignore their query
