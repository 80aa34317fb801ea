"""A classroom's load on one server: many clients evaluating graphs, many following event streams, runs training.

    python benchmarks/load.py [--duration 60] [--evaluators 50] [--streams 20] [--runs 2] [--phases both]

Starts `backprop-lab serve` on 127.0.0.1 (loopback only) with a fresh data directory, then runs each
phase for --duration seconds and stops by itself:

- training: --runs runs of the book's experiment train (stopped at the end); the stream clients follow
  them live, spread evenly, each from the first event.
- idle: the same evaluators and stream clients, no training; the streams replay finished (short) runs
  from the event log, and again a second after each end.

Evaluators POST /api/graphs/evaluate in a closed loop, cycling through the book's examples. Reported
per phase: p50/p90/p99/max latency, throughput, errors (any non-200 or transport error; must be 0),
events received and gaps (an id that is not the previous id + 1; must be 0), peak memory (RSS of the
server and its workers, summed, sampled every 0.2 s), server and client CPU. Everything runs on this one
machine, so the load generator competes with the server for the cores; its CPU is reported too.
Exit status 1 when a phase had errors or gaps.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from app.graph.examples import EXAMPLES, get_example  # noqa: E402

BOOK = {"iterations": 1_000_000, "eval_every": 600, "seed": 1}  # the book's experiment, stopped at the end
SHORT = {"iterations": 300, "eval_every": 100, "train_limit": 3000, "test_limit": 1000, "seed": 7}
HOST = "127.0.0.1"


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    events: int = 0
    gaps: int = 0
    streams_opened: int = 0
    stream_errors: list[str] = field(default_factory=list)
    peak_rss_kib: int = 0
    peak_workers: int = 0
    seconds: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def tree(pid: int) -> list[int]:
    out, todo = [pid], [pid]
    while todo:
        for task in Path(f"/proc/{todo.pop()}/task").glob("*/children"):
            try:
                kids = [int(k) for k in task.read_text().split()]
            except OSError:
                continue
            out += kids
            todo += kids
    return out


def rss_kib(pid: int) -> int:
    try:
        line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("VmRSS:"))
        return int(line.split()[1])
    except (OSError, StopIteration):
        return 0


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


async def sample_memory(pid: int, phase: Phase, stop: asyncio.Event) -> None:
    while not stop.is_set():
        pids = tree(pid)
        phase.peak_rss_kib = max(phase.peak_rss_kib, sum(rss_kib(p) for p in pids))
        phase.peak_workers = max(phase.peak_workers, len(pids) - 1)
        await asyncio.sleep(0.2)


# The hot paths speak HTTP/1.1 over asyncio streams by hand: an HTTP library's per-request CPU would make
# the load generator, not the server, the bottleneck on a two-core machine.

async def read_head(reader: asyncio.StreamReader) -> tuple[int, dict[bytes, bytes]]:
    status = int((await reader.readline()).split(b" ", 2)[1])
    headers = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        key, _, value = line.partition(b":")
        headers[key.strip().lower()] = value.strip()
    return status, headers


async def evaluator(port: int, bodies: list[bytes], offset: int, phase: Phase, until: float) -> None:
    """One client: POST /api/graphs/evaluate on one keep-alive connection, the next as soon as the last is answered."""
    requests = [b"POST /api/graphs/evaluate HTTP/1.1\r\nHost: load\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body) for body in bodies]
    i, conn = offset, None
    while time.monotonic() < until:
        request = requests[i % len(requests)]
        i += 1
        t = time.perf_counter()
        try:
            if conn is None:
                conn = await asyncio.open_connection(HOST, port)
            reader, writer = conn
            writer.write(request)
            status, headers = await read_head(reader)
            body = await reader.readexactly(int(headers[b"content-length"]))
            if status != 200:
                phase.errors.append(f"evaluate: {status} {body[:100]!r}")
        except (OSError, asyncio.IncompleteReadError, KeyError, ValueError, IndexError) as e:
            phase.errors.append(f"evaluate: {type(e).__name__}: {e}")
            conn = None
            continue
        phase.latencies.append(time.perf_counter() - t)
    if conn is not None:
        conn[1].close()


async def sse_ids(port: int, run_id: str, until: float):  # noqa: ANN201 - an async iterator of event ids
    """The ids of a run's events, from its first, read off the chunked stream by hand."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(f"GET /api/runs/{run_id}/events HTTP/1.1\r\nHost: load\r\nAccept: text/event-stream\r\n\r\n".encode())
        status, headers = await read_head(reader)
        if status != 200 or headers.get(b"transfer-encoding") != b"chunked":
            raise ValueError(f"events: status {status}, {headers}")
        buffer = b""
        while (size := int((await reader.readline()).strip(), 16)) > 0:
            buffer += (await reader.readexactly(size + 2))[:-2]
            *complete, buffer = buffer.replace(b"\r\n", b"\n").split(b"\n\n")
            for event in complete:
                for line in event.split(b"\n"):
                    if line.startswith(b"id:"):
                        yield int(line[3:])
            if time.monotonic() >= until:
                return
    finally:
        writer.close()


async def follower(port: int, run_id: str, phase: Phase, until: float, replay: bool) -> None:
    """Follow one run's events from the first, checking every id is the previous + 1. A finished run is
    replayed, and replayed again a second after each end, like a tab reopening it."""
    while time.monotonic() < until:
        last = 0
        phase.streams_opened += 1
        try:
            async for seq in sse_ids(port, run_id, until):
                phase.events += 1
                phase.gaps += seq != last + 1
                last = seq
        except (OSError, asyncio.IncompleteReadError, ValueError) as e:
            phase.stream_errors.append(f"stream {run_id}: {type(e).__name__}: {e}")
        if time.monotonic() >= until:
            return
        if not replay:
            phase.stream_errors.append(f"stream {run_id} ended early")
            return
        await asyncio.sleep(1.0)


async def wait_for(client: httpx.AsyncClient, run_id: str, done: bool) -> None:
    while True:
        run = (await client.get(f"/api/runs/{run_id}")).json()
        if (run["status"] == "done") if done else (run["status"] == "running" and run["progress"]["iteration"] > 0):
            return
        if run["status"] in ("failed", "stopped", "interrupted"):
            raise RuntimeError(f"run {run_id}: {run['status']} {run.get('error')}")
        await asyncio.sleep(0.1)


async def run_phase(name: str, url: str, server_pid: int, args: argparse.Namespace, bodies: list[bytes]) -> Phase:
    phase = Phase(name)
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:  # setup and teardown only
        training = name == "training"
        config = BOOK if training else SHORT
        runs = [(await client.post("/api/runs", json=config)).json() for _ in range(args.runs)]
        for run in runs:
            if "id" not in run:
                raise RuntimeError(f"could not start a run: {run}")
            await wait_for(client, run["id"], done=not training)
        port = int(url.rsplit(":", 1)[1])
        await asyncio.gather(*(evaluator(port, bodies, i, Phase("warm-up"), time.monotonic() + 1.0)
                               for i in range(args.evaluators)))  # warm up the code paths

        stop_sampling = asyncio.Event()
        sampler = asyncio.create_task(sample_memory(server_pid, phase, stop_sampling))
        cpu0, client0, t0 = cpu_seconds(server_pid), resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
        until = t0 + args.duration
        tasks = [evaluator(port, bodies, i, phase, until) for i in range(args.evaluators)]
        tasks += [follower(port, runs[i % len(runs)]["id"], phase, until, replay=not training) for i in range(args.streams)]
        await asyncio.gather(*tasks)
        phase.seconds = time.monotonic() - t0
        phase.server_cpu = cpu_seconds(server_pid) - cpu0
        client1 = resource.getrusage(resource.RUSAGE_SELF)
        phase.client_cpu = client1.ru_utime + client1.ru_stime - client0.ru_utime - client0.ru_stime
        stop_sampling.set()
        await sampler
        for run in runs:
            if training:
                await client.post(f"/api/runs/{run['id']}/stop", headers={"Authorization": f"Bearer {run['token']}"})
    return phase


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))] if xs else float("nan")


def report(phase: Phase, args: argparse.Namespace) -> str:
    lat = phase.latencies
    lines = [
        f"{phase.name}: {args.evaluators} evaluators, {args.streams} stream clients"
        + (f", {args.runs} runs training" if phase.name == "training" else ", streams replaying finished runs")
        + f", {phase.seconds:.0f} s",
        f"  evaluate   {len(lat)} requests, {len(lat) / phase.seconds:.0f} req/s; latency p50 {pct(lat, .5) * 1e3:.1f} ms, "
        f"p90 {pct(lat, .9) * 1e3:.1f} ms, p99 {pct(lat, .99) * 1e3:.1f} ms, max {max(lat, default=0) * 1e3:.0f} ms",
        f"  errors     {len(phase.errors)}" + (f" (first: {phase.errors[0]})" if phase.errors else ""),
        f"  streams    {phase.streams_opened} opened, {phase.events} events ({phase.events / phase.seconds:.0f}/s), "
        f"gaps {phase.gaps}, stream errors {len(phase.stream_errors)}"
        + (f" (first: {phase.stream_errors[0]})" if phase.stream_errors else ""),
        f"  memory     peak RSS {phase.peak_rss_kib / 1024:.0f} MiB (the server and its {phase.peak_workers} child processes: "
        "workers and multiprocessing's resource tracker)",
        f"  CPU        server process {phase.server_cpu / phase.seconds * 100:.0f}% of a core, "
        f"load generator {phase.client_cpu / phase.seconds * 100:.0f}% ({os.cpu_count()} cores)",
    ]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=60.0, help="seconds per phase (default 60, at most 600)")
    ap.add_argument("--evaluators", type=int, default=50)
    ap.add_argument("--streams", type=int, default=20)
    ap.add_argument("--runs", type=int, default=2, help="runs training in the training phase")
    ap.add_argument("--phases", choices=["both", "training", "idle"], default="both")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    if not (1 <= args.duration <= 600 and 1 <= args.evaluators <= 200 and 0 <= args.streams <= 100 and 1 <= args.runs <= 4):
        ap.error("bounded: duration 1..600 s, evaluators 1..200, streams 0..100, runs 1..4")

    port = free_port()
    env = dict(os.environ, BACKPROP_LAB_DATA_DIR=tempfile.mkdtemp(prefix="bench-load-"),
               BACKPROP_LAB_MAX_RUNNING=str(args.runs), BACKPROP_LAB_MAX_ACTIVE_PER_CLIENT=str(args.runs + 1))
    server = subprocess.Popen([sys.executable, "-m", "app", "serve", "--host", HOST, "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://{HOST}:{port}"
    bodies = [json.dumps(get_example(name)).encode() for name in EXAMPLES]
    phases: list[Phase] = []
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/api/health", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.1)
        for name in (["idle", "training"] if args.phases == "both" else [args.phases]):
            phases.append(asyncio.run(run_phase(name, url, server.pid, args, bodies)))
            print(report(phases[-1], args), flush=True)
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
    if len(phases) == 2:
        idle, busy = phases
        print(f"training / idle: p50 x{pct(busy.latencies, .5) / pct(idle.latencies, .5):.2f}, "
              f"p99 x{pct(busy.latencies, .99) / pct(idle.latencies, .99):.2f}, throughput "
              f"x{len(busy.latencies) / busy.seconds / (len(idle.latencies) / idle.seconds):.2f}")
    if args.json:
        args.json.write_text(json.dumps([{
            "phase": p.name, "requests": len(p.latencies), "throughput": len(p.latencies) / p.seconds,
            "p50_ms": pct(p.latencies, .5) * 1e3, "p90_ms": pct(p.latencies, .9) * 1e3, "p99_ms": pct(p.latencies, .99) * 1e3,
            "errors": len(p.errors), "events": p.events, "gaps": p.gaps, "stream_errors": len(p.stream_errors),
            "peak_rss_mib": p.peak_rss_kib / 1024, "server_cpu": p.server_cpu / p.seconds, "client_cpu": p.client_cpu / p.seconds,
        } for p in phases], indent=2))
    return 1 if any(p.errors or p.gaps or p.stream_errors for p in phases) else 0


if __name__ == "__main__":
    raise SystemExit(main())
