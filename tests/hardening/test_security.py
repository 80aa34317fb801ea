"""Security: headers on every kind of response, CORS only when configured, run tokens never shown again and
compared in constant time, no way from a URL to a file outside the app's own, and the run-start rate limit."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from httpx_sse import connect_sse

from app.config import Settings
from app.main import create_app
from app.middleware import CSP
from app.ratelimit import TokenBuckets
from app.training import jobs as jobs_module
from app.training.jobs import JobError, hash_token

from support.hardening import TINY, raw_http, status_of
from support.live_server import LiveServer

PAGES = ["/", "/train", "/net", "/lessons", "/docs"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(Settings(data_dir=tmp_path_factory.mktemp("security"), max_running=1)) as s:
        yield s


@pytest.fixture(scope="module")
def finished(server: LiveServer) -> dict[str, Any]:
    """A run that has trained to the end, with the token its start answered."""
    with server.client() as client:
        run = client.post("/api/runs", json=TINY).json()
        deadline = time.monotonic() + 60
        while client.get(f"/api/runs/{run['id']}").json()["status"] != "done":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    return run


def assert_secure(headers: httpx.Headers, what: str) -> None:
    csp = headers.get("content-security-policy", "")
    directives = dict((d.strip().split(" ", 1) + [""])[:2] for d in csp.split(";") if d.strip())
    script = directives.get("script-src", directives.get("default-src", ""))
    assert script and "'unsafe-inline'" not in script and "'unsafe-eval'" not in script and "*" not in script.split(), \
        f"{what}: script-src {script!r}"
    assert directives.get("frame-ancestors") == "'none'" and headers.get("x-frame-options") == "DENY", what
    assert headers.get("x-content-type-options") == "nosniff", what
    assert headers.get("referrer-policy") in ("no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"), what
    assert "access-control-allow-origin" not in headers, what


# --- headers -------------------------------------------------------------------------------------

def test_every_kind_of_response_carries_the_security_headers(server: LiveServer, finished: dict[str, Any]) -> None:
    rid = finished["id"]
    json_headers = {"content-type": "application/json"}
    requests: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/api/ops", {}), ("GET", "/api/health", {}), ("GET", "/openapi.json", {}), ("GET", "/docs", {}),
        ("GET", "/static/js/api.js", {}), ("GET", "/static/css/app.css", {}), ("GET", "/static/img/favicon.svg", {}),
        ("GET", "/static/no-such-file.js", {}), ("GET", "/no/such/page", {}),
        *[("GET", page, {}) for page in PAGES],
        ("POST", "/api/graphs/evaluate", {"json": {"nodes": [{"id": "a", "op": "nope"}]}}),  # 422
        ("POST", "/api/graphs/evaluate", {"content": b"{", "headers": json_headers}),  # 400
        ("POST", "/api/graphs/evaluate", {"content": b" " * 1_000_001, "headers": json_headers}),  # 413 (middleware)
        ("PUT", "/api/ops", {}),  # 405
        ("GET", f"/api/runs/{rid}", {}), ("GET", f"/api/runs/{rid}/weights.npz", {}),
        ("GET", f"/api/runs/{rid}/metrics.csv", {}), ("GET", f"/api/runs/{rid}/events", {}),  # SSE, replayed to its end
        ("POST", f"/api/runs/{rid}/stop", {}),  # 403
    ]
    with server.client() as client:
        statuses = set()
        for method, path, kwargs in requests:
            r = client.request(method, path, **kwargs)
            statuses.add(r.status_code)
            assert_secure(r.headers, f"{method} {path} -> {r.status_code}")
    assert {200, 400, 403, 404, 405, 413, 422} <= statuses


def test_an_internal_error_is_json_with_the_security_headers_and_no_traceback(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    with TestClient(app, raise_server_exceptions=False) as client:
        app.state.store.get_graph = lambda gid: 1 / 0
        r = client.get("/api/graphs/abc")
    assert r.status_code == 500 and r.json()["detail"].startswith("internal error")
    assert "Traceback" not in r.text and "ZeroDivision" not in r.text
    assert_secure(r.headers, "500")


def test_the_docs_page_runs_under_the_sites_own_policy_from_vendored_files(server: LiveServer) -> None:
    with server.client() as client:
        r = client.get("/docs")
        scripts = re.findall(r'<script[^>]*src="([^"]+)"', r.text)
        sheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', r.text)
        assert r.status_code == 200 and r.headers["content-security-policy"] == CSP
        assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in scripts
        assert "/static/vendor/swagger-ui/swagger-ui.css" in sheets
        for url in scripts + sheets:  # everything it loads is here: no CDN, so it works offline
            assert url.startswith("/static/") and client.get(url).status_code == 200, url
        assert client.get("/redoc").status_code == 404  # ReDoc would need its CDN: not offered


@pytest.mark.parametrize("page", PAGES)
def test_pages_have_no_inline_script_for_the_csp_to_block(server: LiveServer, page: str) -> None:
    with server.client() as client:
        html = client.get(page).text
    inline = [m for m in re.finditer(r"<script\b([^>]*)>(.*?)</script>", html, re.S | re.I)
              if "src=" not in m.group(1) and m.group(2).strip()]
    assert not inline, f"inline <script> on {page}: {inline[0].group(0)[:120]}"
    assert not re.search(r"\son[a-z]+\s*=", html, re.I), f"inline event handler on {page}"
    assert "javascript:" not in html.lower()


# --- CORS ----------------------------------------------------------------------------------------

PREFLIGHT = {"Origin": "http://evil.example", "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "content-type"}


def test_cors_is_off_unless_configured(server: LiveServer) -> None:
    with server.client() as client:
        pre = client.options("/api/graphs/evaluate", headers=PREFLIGHT)
        simple = client.get("/api/ops", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in pre.headers and pre.status_code >= 400
    assert "access-control-allow-origin" not in simple.headers


def test_cors_allows_exactly_the_configured_origins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKPROP_LAB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BACKPROP_LAB_CORS_ORIGINS", "http://school.example, http://lab.example")
    settings = Settings.from_env()
    assert settings.cors_origins == ("http://school.example", "http://lab.example")
    with TestClient(create_app(settings)) as client:
        ok = client.options("/api/graphs/evaluate", headers={**PREFLIGHT, "Origin": "http://lab.example"})
        other = client.options("/api/graphs/evaluate", headers=PREFLIGHT)
        simple = client.get("/api/ops", headers={"Origin": "http://school.example"})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "http://lab.example"
    assert "access-control-allow-origin" not in other.headers
    assert simple.headers["access-control-allow-origin"] == "http://school.example"


# --- run tokens ----------------------------------------------------------------------------------

def test_a_run_token_is_never_shown_again_nor_stored(server: LiveServer, finished: dict[str, Any]) -> None:
    token, rid = finished["token"], finished["id"]
    with server.client() as client:
        bodies = [client.get(path).text for path in
                  ("/api/runs", "/api/runs?limit=200", f"/api/runs/{rid}", f"/api/runs/{rid}/metrics.csv", f"/api/runs/{rid}/w1")]
        bodies.append(client.get(f"/api/runs/{rid}/weights.npz").content.decode("latin-1"))
        with connect_sse(client, "GET", f"/api/runs/{rid}/events") as source:
            bodies += [sse.data for sse in source.iter_sse()]
    assert len(bodies) > 8 and not any(token in body for body in bodies)
    assert not any("token" in body.lower() for body in bodies[:3])  # neither the token nor its hash is listed
    for f in server.settings.data_dir.glob("backprop-lab.sqlite3*"):  # the database, its WAL and index
        assert token.encode() not in f.read_bytes()
    with sqlite3.connect(server.settings.data_dir / "backprop-lab.sqlite3") as db:
        assert db.execute("SELECT token_hash FROM runs WHERE id = ?", (rid,)).fetchone()[0] == hash_token(token)


def test_tokens_are_compared_in_constant_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []
    real = jobs_module.hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(jobs_module.hmac, "compare_digest", spy)
    with TestClient(create_app(Settings(data_dir=tmp_path))) as client:
        manager = client.app.state.jobs  # type: ignore[attr-defined]
        manager.runs.create("abc123", dict(TINY), hash_token("right"), "someone")
        manager.runs.update("abc123", status="done")
        for token, status in (("wrong", 403), ("righ", 403), ("right", 200)):
            r = client.post("/api/runs/abc123/stop", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == status
    # Every comparison went through compare_digest, on hashes of equal length (no early exit on length).
    assert len(calls) == 3 and all(len(a) == len(b) == 64 for a, b in calls)


# --- no path from a URL to the file system -------------------------------------------------------

SECRETS = (b"root:x:0:0", b"[build-system]", b"SQLite format 3", b"def create_app", b"BACKPROP_LAB_")
TRAVERSALS = ["..%2f..%2f..%2fetc%2fpasswd", "%2e%2e%2f%2e%2e%2fpyproject.toml", "..%5c..%5cpyproject.toml",
              "%252e%252e%252fpyproject.toml", "%2fetc%2fpasswd", "....%2f%2f....%2f%2fetc%2fpasswd",
              "..%2fbackprop-lab.sqlite3", "..%2f..%2fapp%2fmain.py%00.npz", "%c0%ae%c0%ae%2fpyproject.toml"]


def traversal_targets(rid: str) -> list[str]:
    targets = []
    for t in TRAVERSALS:
        targets += [f"/api/graphs/{t}", f"/api/examples/{t}", f"/api/runs/{t}", f"/api/runs/{t}/weights.npz",
                    f"/api/runs/{t}/metrics.csv", f"/api/runs/{t}/events", f"/api/runs/{t}/w1", f"/api/runs/{t}/inspect",
                    f"/api/datasets/{t}/samples", f"/static/{t}", f"/static/js/{t}", f"/{t}"]
    return targets + ["/static/../pyproject.toml", "/static/js/../../pyproject.toml", "/static//etc/passwd",
                      "/static/../../../../etc/passwd", "/static/%2e%2e/app/main.py", f"/api/runs/{rid}/../../../etc/passwd",
                      "/api/runs/../../pyproject.toml", "//etc/passwd", "/static/.%2e/.%2e/pyproject.toml"]


def test_no_url_reaches_a_file_outside_the_app(server: LiveServer, finished: dict[str, Any]) -> None:
    targets = traversal_targets(finished["id"])
    for target in targets:
        answer = raw_http(server.port, f"GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
        assert status_of(answer) in (400, 404, 405, 422), f"{target}: {answer[:200]!r}"
        assert not any(secret in answer for secret in SECRETS), target
    with server.client() as client:
        assert client.get("/static/js/api.js").status_code == 200  # while the real files are served


def test_a_run_id_never_becomes_a_path(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path))) as client:
        manager = client.app.state.jobs  # type: ignore[attr-defined]
        for bad in ("../x", "..", "a/b", "/etc/passwd", "x\x00y", "é1"):
            with pytest.raises(ValueError):
                manager.weights_path(bad)
        assert manager.weights_path("0123abcd").parent == tmp_path / "weights"


@pytest.mark.parametrize("dataset", ["/etc", "../../etc", "~", str(Path(__file__).parent)])
def test_a_run_cannot_train_on_a_directory_the_client_names(server: LiveServer, dataset: str) -> None:
    with server.client() as client:
        r = client.post("/api/runs", json={**TINY, "dataset": dataset})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "dataset"


# --- the rate limit on starting runs -------------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_buckets_burst_refill_and_keep_clients_apart() -> None:
    clock = Clock()
    buckets = TokenBuckets(per_minute=6, burst=2, clock=clock)  # a token every 10 s
    assert [buckets.take("a"), buckets.take("a")] == [0, 0]
    assert buckets.take("a") == 10 and buckets.take("b") == 0  # a waits; b has its own bucket
    clock.now += 4
    assert buckets.take("a") == 6  # the Retry-After counts down
    clock.now += 6
    assert buckets.take("a") == 0 and buckets.take("a") == 10
    buckets.refund("a")
    assert buckets.take("a") == 0
    clock.now += 3600
    assert [buckets.take("a"), buckets.take("a"), buckets.take("a")] == [0, 0, 10]  # refills to the burst, no further


def test_token_buckets_forget_idle_clients_and_can_be_off() -> None:
    clock = Clock()
    buckets = TokenBuckets(per_minute=60, burst=1, clock=clock, max_clients=100)
    for i in range(100):
        buckets.take(f"10.0.0.{i}")
    clock.now += 5  # all refilled
    buckets.take("late")
    assert len(buckets) <= 2
    for i in range(1000):  # a flood of busy addresses stays bounded
        buckets.take(f"flood-{i}")
    assert len(buckets) <= 100
    assert all(TokenBuckets(per_minute=0, burst=1).take("x") == 0 for _ in range(100))


def test_starting_runs_too_fast_is_429_with_retry_after(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, run_starts_per_minute=2, run_start_burst=2)
    started: list[str] = []

    def submit(config: dict[str, Any], client: str) -> tuple[str, str, int | None]:
        if len(started) == 2 and "full" not in started:
            started.append("full")
            raise JobError("the queue is full", 429, retry_after=15)
        started.append(client)
        return f"run{len(started)}", "token", None

    with TestClient(create_app(settings)) as client:
        client.app.state.jobs.submit = submit  # type: ignore[attr-defined]
        assert [client.post("/api/runs", json=TINY).status_code for _ in range(2)] == [201, 201]
        refused = client.post("/api/runs", json=TINY)
        assert refused.status_code == 429 and refused.headers["retry-after"] == "30"
        assert "run_start_burst" in refused.json()["detail"] and "30 s" in refused.json()["detail"]
        assert client.post("/api/runs", json={"iterations": 0}).status_code == 422  # invalid: costs no token
        client.app.state.run_starts.clock = lambda: time.monotonic() + 30  # type: ignore[attr-defined]
        full = client.post("/api/runs", json=TINY)  # a token, but the queue refuses: the token comes back
        assert full.status_code == 429 and full.headers["retry-after"] == "15"
        assert client.post("/api/runs", json=TINY).status_code == 201


def test_the_rate_limit_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKPROP_LAB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BACKPROP_LAB_RUN_STARTS_PER_MINUTE", "0.5")
    monkeypatch.setenv("BACKPROP_LAB_RUN_START_BURST", "4")
    settings = Settings.from_env()
    assert (settings.run_starts_per_minute, settings.run_start_burst) == (0.5, 4)
    monkeypatch.setenv("BACKPROP_LAB_RUN_STARTS_PER_MINUTE", "fast")
    with pytest.raises(SystemExit, match="RUN_STARTS_PER_MINUTE must be a number"):
        Settings.from_env()
