"""backprop-lab eval GRAPH.json [--url URL]: values and gradients as a table, locally or on a server."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate a graph JSON file and print each node's value and gradient")
    p.add_argument("graph", help="a graph JSON file, or - for standard input")
    p.add_argument("--url", help="evaluate on this server (e.g. http://127.0.0.1:8000) instead of locally")
    p.add_argument("--check", action="store_true", help="also run the numerical gradient check")
    p.add_argument("--json", action="store_true", help="print the evaluate response as JSON")
    p.set_defaults(run=run)


def _short(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    text = json.dumps(v)
    return text if len(text) <= 48 else text[:45] + "..."


def table(result: dict[str, Any]) -> str:
    rows = [("node", "op", "shape", "value", "grad")]
    for nid in result["order"]:
        n = result["nodes"][nid]
        rows.append((nid, n["op"], str(n["shape"]), _short(n["value"]), _short(n["grad"])))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(f"output: {result['output']}")
    for w in result.get("warnings", []):
        lines.append(f"warning: {w['message']}")
    for nid, c in (result.get("check") or {}).items():
        lines.append(f"check {nid}: max relative error {c['max_rel_error']:.2e} {'ok' if c['ok'] else 'MISMATCH'}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    try:
        text = sys.stdin.read() if args.graph == "-" else Path(args.graph).read_text()
        graph = json.loads(text)
    except (OSError, ValueError, RecursionError) as e:  # ValueError: bad JSON or not UTF-8
        print(f"backprop-lab eval: cannot read {args.graph}: {e}", file=sys.stderr)
        return 2
    if args.url:
        import httpx

        try:
            r = httpx.post(args.url.rstrip("/") + "/api/graphs/evaluate", params={"check": args.check}, json=graph, timeout=60)
        except httpx.HTTPError as e:
            print(f"backprop-lab eval: cannot reach {args.url}: {e}", file=sys.stderr)
            return 1
        try:
            body = r.json()
        except ValueError:  # not this app's API (a proxy's HTML page, another server)
            body = None
        if r.status_code != 200 or not isinstance(body, dict) or "order" not in body:
            detail = body.get("detail") if isinstance(body, dict) else None
            print(f"backprop-lab eval: {args.url} answered {r.status_code}: {detail or r.text[:200]}", file=sys.stderr)
            return 1
        result = body
    else:
        from app.graph.encode import evaluation_to_json
        from app.graph.engine import evaluate
        from app.graph.errors import GraphError

        try:
            result = evaluation_to_json(evaluate(graph, check=args.check))
        except GraphError as e:
            print(f"backprop-lab eval: {e.message}", file=sys.stderr)
            return 1
    print(json.dumps(result, indent=1) if args.json else table(result))
    return 0
