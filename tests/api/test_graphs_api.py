"""POST /api/graphs/evaluate, saved graphs, and the error shape every 4xx shares."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


def apple(client: TestClient) -> dict:
    return client.get("/api/examples/apple").json()


def test_apple_round_trip_is_the_book(client: TestClient) -> None:
    r = client.post("/api/graphs/evaluate", json=apple(client))
    assert r.status_code == 200
    body = r.json()
    assert body["output"] == "price" and body["order"] == ["apple", "apple_num", "tax", "apple_price", "price"]
    assert body["nodes"]["price"]["value"] == pytest.approx(220)
    grads = {k: body["nodes"][k]["grad"] for k in ("apple", "apple_num", "tax")}
    assert grads == pytest.approx({"apple": 2.2, "apple_num": 110, "tax": 200})
    edge = next(e for e in body["edges"] if (e["from"], e["to"]) == ("apple_price", "price"))
    assert edge == {"from": "apple_price", "to": "price", "slot": 0, "value": pytest.approx(200), "grad": pytest.approx(1.1)}


def test_check_query_adds_numerical_gradients(client: TestClient) -> None:
    body = client.post("/api/graphs/evaluate?check=true", json=client.get("/api/examples/apple-orange").json()).json()
    assert set(body["check"]) == {"apple", "apple_num", "orange", "orange_num", "tax"}
    assert body["check"]["tax"]["numerical"] == pytest.approx(650, rel=1e-8)
    assert all(c["ok"] and c["max_rel_error"] < 1e-6 for c in body["check"].values())


def test_check_of_a_graph_with_non_finite_values_is_answered(client: TestClient) -> None:
    graph = {"nodes": [{"id": "x", "op": "input", "value": 0}, {"id": "y", "op": "log", "inputs": ["x"]}]}
    r = client.post("/api/graphs/evaluate?check=true", json=graph)
    assert r.status_code == 200, r.text
    check = r.json()["check"]["x"]
    assert check["backprop"] == "Infinity" and check["ok"] is False and check["max_rel_error"] == "NaN"


def test_graph_error_names_node_and_field(client: TestClient) -> None:
    g = {"nodes": [{"id": "a", "op": "input", "value": [1, 2]}, {"id": "b", "op": "input", "value": [1, 2, 3]},
                   {"id": "c", "op": "add", "inputs": ["a", "b"]}]}
    r = client.post("/api/graphs/evaluate", json=g)
    assert r.status_code == 422
    assert r.json() == {"detail": "node 'c' (add): shapes [2] and [3] cannot be broadcast together [input shapes [2] and [3]]",
                        "errors": [{"node": "c", "field": "inputs",
                                    "message": "node 'c' (add): shapes [2] and [3] cannot be broadcast together [input shapes [2] and [3]]"}]}


def test_schema_errors_use_the_same_shape_and_name_the_node(client: TestClient) -> None:
    r = client.post("/api/graphs/evaluate", json={"nodes": [{"id": "apple", "op": "input", "value": {"a": 1}}]})
    assert r.status_code == 422
    err = r.json()["errors"][0]
    assert (err["node"], err["field"]) == ("apple", "value")
    assert err["message"] == "node 'apple': value: must be a number or a nested list of numbers"


MALFORMED = {"truncated": b"{\"nodes\": [", "not-utf8": b"\xff\xfe\x00", "deep": b"[" * 50_000 + b"]" * 50_000,
             "null": b"null", "empty-object": b"{}", "nodes-not-list": b"{\"nodes\": 3}"}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_bodies_are_4xx_never_500(client: TestClient, name: str) -> None:
    r = client.post("/api/graphs/evaluate", content=MALFORMED[name], headers={"content-type": "application/json"})
    assert r.status_code in (400, 422), r.text[:200]
    assert r.json()["detail"] and "nodes" in r.json()["detail"] or "JSON" in r.json()["detail"]


def test_body_size_limit_is_413_and_named(client: TestClient) -> None:
    r = client.post("/api/graphs/evaluate", content=b" " * 200_001, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["errors"][0]["limit"] == "max_body_bytes"


def test_node_limit_is_413_and_named(client: TestClient) -> None:
    g = {"nodes": [{"id": f"n{i}", "op": "input", "value": 1} for i in range(501)]}
    r = client.post("/api/graphs/evaluate", json=g)
    assert r.status_code == 413 and "max_nodes" in r.json()["detail"]


def test_non_finite_results_are_strings_with_warnings(client: TestClient) -> None:
    g = {"nodes": [{"id": "zero", "op": "input", "value": 0}, {"id": "inv", "op": "reciprocal", "inputs": ["zero"]}]}
    body = client.post("/api/graphs/evaluate", json=g).json()
    assert body["nodes"]["inv"]["value"] == "Infinity"
    assert body["nodes"]["zero"]["grad"] == "-Infinity"
    assert [w["node"] for w in body["warnings"]] == ["zero", "inv"]


def test_saved_graphs_have_content_ids_and_are_immutable(client: TestClient) -> None:
    g = apple(client)
    first = client.post("/api/graphs", json=g)
    assert first.status_code == 201
    gid = first.json()["id"]
    assert len(gid) == 16 and first.json()["url"] == f"/?g={gid}"
    assert client.post("/api/graphs", json=g).json()["id"] == gid
    g["nodes"][0]["value"] = 101
    assert client.post("/api/graphs", json=g).json()["id"] != gid
    assert client.get(f"/api/graphs/{gid}").json()["nodes"][0]["value"] == 100
    missing = client.get("/api/graphs/0000000000000000")
    assert missing.status_code == 404 and "no saved graph" in missing.json()["detail"]


def test_invalid_graphs_are_not_saved(client: TestClient) -> None:
    r = client.post("/api/graphs", json={"nodes": [{"id": "a", "op": "nope"}]})
    assert r.status_code == 422 and r.json()["errors"][0]["node"] == "a"


def test_security_headers(client: TestClient) -> None:
    r = client.get("/api/health")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert "access-control-allow-origin" not in r.headers


def test_echo_returns_the_body(client: TestClient) -> None:
    assert client.post("/api/echo", json={"a": [1, 2]}).json() == {"a": [1, 2]}


def test_app_wide_checks_run_on_the_event_loop() -> None:
    """A plain `def` dependency runs in the thread pool: on every request, for every route. The app-wide checks
    are cheap, so they are coroutines (a sync one cost the echo round trip 120 us of its 276 us)."""
    import inspect

    from app.main import create_app

    app = create_app()
    assert app.router.dependencies
    assert all(inspect.iscoroutinefunction(d.dependency) for d in app.router.dependencies)


def test_start_up_objects_are_kept_out_of_the_collectors_way(tmp_path) -> None:
    """A full collection in the middle of a request scanned every library the server imported (8-15 ms)."""
    import gc

    from fastapi.testclient import TestClient

    from app.config import Settings
    from app.main import create_app

    before = gc.get_freeze_count()
    with TestClient(create_app(Settings(data_dir=tmp_path))):
        assert gc.get_freeze_count() > max(before, 10_000)
    assert gc.get_freeze_count() == 0, "unfrozen at shutdown"
