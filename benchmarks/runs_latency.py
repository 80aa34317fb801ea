"""Graph evaluation latency while runs train, the SSE event rate, and stop latency (issue 4).

    python benchmarks/runs_latency.py [--requests 1500] [--windows 3] [--seconds 8]

Starts the app with uvicorn on 127.0.0.1 (loopback only; bounded counts and times), then:
1. p50/p99 of POST /api/graphs/evaluate (apple-orange) with the server idle;
2. the same while two runs of the book's experiment (made long enough to outlast the measurement) train,
   each in its own worker process;
3. the event rate of one run's SSE stream (events/s; losses arrive batched);
4. stop latency: POST /stop until the final `stopped` event arrives on the stream.
Target: p99 while training within 2x of idle.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from httpx_sse import connect_sse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from app.graph.examples import get_example  # noqa: E402

# The book's experiment, made long enough to still be training when the stop is sent (10,000 iterations
# take under 5 s here, fewer than the measurements below last).
BOOK = {"iterations": 1_000_000, "eval_every": 600, "seed": 1}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def latencies(client: httpx.Client, body: bytes, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        client.post("/api/graphs/evaluate", content=body, headers={"content-type": "application/json"}).raise_for_status()
        out.append(time.perf_counter() - t)
    return out


def pct(xs: list[float], p: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(p * len(xs)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=1500)
    ap.add_argument("--seconds", type=float, default=8.0, help="how long to count one stream's events")
    ap.add_argument("--windows", type=int, default=3,
                    help="measure idle and training in this many windows of --requests each: a p99 here swings "
                         "from one window to the next, so each window's is printed and the median compared")
    args = ap.parse_args()
    port = free_port()
    env = dict(os.environ, BACKPROP_LAB_DATA_DIR=tempfile.mkdtemp(prefix="bench-runs-"), BACKPROP_LAB_MAX_RUNNING="2")
    server = subprocess.Popen([sys.executable, "-m", "app", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    body = json.dumps(get_example("apple-orange")).encode()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for _ in range(100):
                try:
                    client.get("/api/health")
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            latencies(client, body, 100)  # warm up
            idle = [latencies(client, body, args.requests) for _ in range(args.windows)]
            runs = [client.post("/api/runs", json=BOOK).json() for _ in range(2)]
            while any(client.get(f"/api/runs/{r['id']}").json()["progress"]["iteration"] == 0 for r in runs):
                time.sleep(0.1)
            busy = [latencies(client, body, args.requests) for _ in range(args.windows)]

            counted: list[tuple[float, str]] = []
            stop_at: dict[str, float] = {}

            def follow() -> None:
                with httpx.Client(base_url=client.base_url, timeout=None) as c, \
                        connect_sse(c, "GET", f"/api/runs/{runs[0]['id']}/events") as source:
                    for sse in source.iter_sse():
                        counted.append((time.perf_counter(), sse.event))
                        if sse.event in ("stopped", "done", "failed"):
                            stop_at["final"] = time.perf_counter()
                            stop_at["event"] = sse.event
                            return

            reader = threading.Thread(target=follow)
            reader.start()
            time.sleep(1.0)  # let the replay of earlier events pass
            t0, n0 = time.perf_counter(), len(counted)
            time.sleep(args.seconds)
            rate = (len(counted) - n0) / (time.perf_counter() - t0)
            stop_at["sent"] = time.perf_counter()
            client.post(f"/api/runs/{runs[0]['id']}/stop", headers={"Authorization": f"Bearer {runs[0]['token']}"})
            reader.join(10)
            client.post(f"/api/runs/{runs[1]['id']}/stop", headers={"Authorization": f"Bearer {runs[1]['token']}"})
    finally:
        server.terminate()
        server.wait(10)
    print(f"evaluate apple-orange over HTTP, {args.windows} windows of {args.requests} sequential requests:")
    for name, windows in (("idle", idle), ("two runs training", busy)):
        p50s = ", ".join(f"{statistics.median(w) * 1e3:.2f}" for w in windows)
        p99s = ", ".join(f"{pct(w, .99) * 1e3:.2f}" for w in windows)
        print(f"  {name + ':':19} p50 {p50s} ms | p99 {p99s} ms")
    ratio = statistics.median(pct(w, .99) for w in busy) / statistics.median(pct(w, .99) for w in idle)
    print(f"  median p99 ratio training / idle: {ratio:.2f} (target <= 2)")
    kinds = {k: sum(1 for _, e in counted if e == k) for k in ("loss", "epoch")}
    print(f"SSE: {rate:.1f} events/s on one stream while training ({kinds['loss']} loss and {kinds['epoch']} epoch events seen)")
    if stop_at.get("event") == "stopped":
        print(f"stop latency (POST /stop -> final 'stopped' event): {(stop_at['final'] - stop_at['sent']) * 1e3:.0f} ms")
    else:
        print(f"stop latency not measured: the run ended with {stop_at.get('event', 'no final event')!r} instead")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
