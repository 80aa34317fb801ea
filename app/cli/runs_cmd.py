"""backprop-lab runs start|list|show|stop|delete: training runs on a server, over HTTP (httpx)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from app.training.config import add_arguments

DEFAULT_URL = os.environ.get("BACKPROP_LAB_URL", "http://127.0.0.1:8000")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("runs", help="start, follow, list, show, stop or delete training runs on a server")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    def common(q: argparse.ArgumentParser) -> argparse.ArgumentParser:
        q.add_argument("--url", default=DEFAULT_URL, help=f"the server (default {DEFAULT_URL}, or $BACKPROP_LAB_URL)")
        return q

    start = common(actions.add_parser("start", help="start a run (the training config's flags, as for `train`)"))
    add_arguments(start)
    start.add_argument("--follow", action="store_true", help="follow the run's events with a progress bar until it ends")
    start.add_argument("--json", action="store_true", help="print the server's answers as JSON")
    start.set_defaults(parser=start)
    listing = common(actions.add_parser("list", help="runs, newest first"))
    listing.add_argument("--limit", type=int, default=20)
    show = common(actions.add_parser("show", help="one run's status, progress and final figures"))
    show.add_argument("id")
    show.add_argument("--json", action="store_true", help="the whole run, metrics included, as JSON")
    follow = common(actions.add_parser("follow", help="follow a run's events until it ends"))
    follow.add_argument("id")
    for name in ("stop", "delete"):
        q = common(actions.add_parser(name, help=f"{name} a run (needs the token printed by `runs start`)"))
        q.add_argument("id")
        q.add_argument("--token", default=os.environ.get("BACKPROP_LAB_TOKEN"), help="the run's token (or $BACKPROP_LAB_TOKEN)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import httpx

    try:
        with httpx.Client(base_url=args.url.rstrip("/"), timeout=30) as client:
            return ACTIONS[args.action](client, args)
    except httpx.HTTPError as e:
        print(f"backprop-lab runs: cannot reach {args.url}: {e}", file=sys.stderr)
        return 1


def _fail(r: Any) -> int:
    try:
        detail = r.json().get("detail", r.text)
    except ValueError:
        detail = r.text
    print(f"backprop-lab runs: {r.status_code}: {detail}", file=sys.stderr)
    return 1


def _start(client: Any, args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from app.training.config import ConfigError, cli_message, config_from_args, parse_config

    try:
        config = parse_config(config_from_args(args)).model_dump(mode="json")
    except (ValidationError, ConfigError) as e:
        args.parser.error(cli_message(e))
    r = client.post("/api/runs", json=config)
    if r.status_code != 201:
        return _fail(r)
    created = r.json()
    if args.json and not args.follow:
        print(json.dumps(created))
        return 0
    where = f"queued at position {created['position']}" if created["position"] else "running"
    print(f"run {created['id']} {where}\ntoken {created['token']}  (keep it: it stops or deletes this run)", file=sys.stderr)
    if not args.follow:
        print(created["id"])
        return 0
    return _follow_id(client, created["id"], as_json=args.json)


def _follow(client: Any, args: argparse.Namespace) -> int:
    return _follow_id(client, args.id)


RECONNECT_FOR = 30.0  # seconds of failed reconnections before `follow` gives up


def _follow_id(client: Any, run_id: str, as_json: bool = False) -> int:
    """Follow the event stream; on a dropped connection resume from the last event id (nothing lost)."""
    import httpx
    from httpx_sse import connect_sse

    r = client.get(f"/api/runs/{run_id}")
    if r.status_code != 200:
        return _fail(r)
    run = r.json()
    last, iteration, loss, acc = 0, 0, None, None
    total = int(run["config"]["iterations"])
    replay = run["status"] not in ("queued", "running")  # a finished run's history: no speed to show
    started = time.monotonic()
    final: tuple[str, dict[str, Any]] | None = None
    lost_since: float | None = None
    while final is None:
        try:
            with connect_sse(client, "GET", f"/api/runs/{run_id}/events", headers={"Last-Event-ID": str(last)},
                             timeout=None) as source:
                if source.response.status_code != 200:
                    source.response.read()
                    return _fail(source.response)
                lost_since = None
                for sse in source.iter_sse():
                    last, data = int(sse.id), sse.json()
                    if sse.event == "loss":
                        iteration, loss = data["start"] + len(data["values"]), data["values"][-1]
                    elif sse.event == "epoch":
                        acc = data["test_acc"]
                    elif sse.event == "status" and data.get("status") == "queued":
                        print(f"\rqueued at position {data.get('position')}", end="", file=sys.stderr)
                        continue
                    elif sse.event in ("done", "stopped", "failed", "interrupted"):
                        final = (sse.event, data)
                        break
                    _bar(iteration, total, loss, acc, None if replay else time.monotonic() - started)
        except (httpx.TransportError, httpx.RemoteProtocolError) as e:
            # a dropped stream is resumed from the last event; a server gone for good ends the command
            lost_since = lost_since or time.monotonic()
            if time.monotonic() - lost_since > RECONNECT_FOR:
                print(f"\nbackprop-lab runs: lost the server ({e}); the run may still be training: "
                      f"follow it again with `backprop-lab runs follow {run_id}`", file=sys.stderr)
                return 1
            time.sleep(1)
    print(file=sys.stderr)
    status, summary = final
    if as_json:
        print(json.dumps({"id": run_id, "status": status, **summary}))
    else:
        figures = ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in summary.items() if k != "status")
        print(f"run {run_id} {status}: {figures}")
    return 0 if status == "done" else 1


def _bar(iteration: int, total: int, loss: float | None, acc: float | None, elapsed: float | None, width: int = 28) -> None:
    frac = iteration / total if total else 0.0
    filled = int(width * frac)
    parts = [f"[{'#' * filled}{'.' * (width - filled)}] {iteration}/{total}"]
    if elapsed is not None:  # None: a finished run's history, replayed at once
        parts.append(f"{iteration / elapsed if elapsed > 0 else 0.0:,.0f} it/s")
    if loss is not None:
        parts.append(f"loss {loss:.4f}")
    if acc is not None:
        parts.append(f"test acc {acc:.4f}")
    print("\r" + "  ".join(parts), end="", file=sys.stderr, flush=True)


def _list(client: Any, args: argparse.Namespace) -> int:
    r = client.get("/api/runs", params={"limit": args.limit})
    if r.status_code != 200:
        return _fail(r)
    rows = [("id", "status", "progress", "test acc", "config")]
    for run in r.json()["runs"]:
        c, p, f = run["config"], run["progress"], run["final"] or {}
        acc = f"{f['test_acc']:.4f}" if f.get("test_acc") is not None else "-"
        summary = f"{c['optimizer']} lr {c['learning_rate']} h {c['hidden_size']} b {c['batch_size']}"
        rows.append((run["id"], run["status"], f"{p['iteration']}/{p['iterations']}", acc, summary))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    return 0


def _show(client: Any, args: argparse.Namespace) -> int:
    r = client.get(f"/api/runs/{args.id}")
    if r.status_code != 200:
        return _fail(r)
    run = r.json()
    if args.json:
        print(json.dumps(run))
        return 0
    print(f"run {run['id']}: {run['status']}" + (f" (position {run['position']})" if run["position"] else ""))
    print(f"progress {run['progress']['iteration']}/{run['progress']['iterations']}")
    print("config " + json.dumps(run["config"]))
    for e in run["metrics"]["epochs"]:
        print(f"  iteration {e['iteration']:>6}: train acc {e['train_acc']:.4f}  test acc {e['test_acc']:.4f}")
    final, summary, timings = run["final"] or {}, run["summary"] or {}, run["timings"]
    figures = [f"{name} {final[key]:.4f}" for key, name in (("train_acc", "train acc"), ("test_acc", "test acc"), ("loss", "loss"))
               if final.get(key) is not None]
    if figures:
        print("final " + "  ".join(figures))
    if timings.get("train_seconds") is not None:
        print(f"trained for {timings['train_seconds']:.1f} s" + (f" (queued {timings['queued_seconds']:.1f} s)"
                                                               if timings.get("queued_seconds") else ""))
    if summary.get("reason"):
        print(f"{run['status']}: {summary['reason']}")
    if run["error"]:
        print(f"error: {run['error']}")
    return 0


def _token_call(method: str) -> Any:
    def call(client: Any, args: argparse.Namespace) -> int:
        if not args.token:
            print("backprop-lab runs: --token is required (printed by `runs start`)", file=sys.stderr)
            return 2
        path = f"/api/runs/{args.id}" + ("/stop" if method == "POST" else "")
        r = client.request(method, path, headers={"Authorization": f"Bearer {args.token}"})
        if r.status_code >= 400:
            return _fail(r)
        print(f"run {args.id}: {r.json()['status'] if r.content else 'deleted'}")
        return 0

    return call


ACTIONS = {"start": _start, "follow": _follow, "list": _list, "show": _show,
           "stop": _token_call("POST"), "delete": _token_call("DELETE")}
