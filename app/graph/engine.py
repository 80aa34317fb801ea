"""Forward pass, backward pass by the chain rule, and the book's numerical gradient check."""

from __future__ import annotations

import functools
import math
import operator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import GraphError, LimitError
from .limits import DEFAULT_LIMITS, Limits
from .model import Graph, parse_graph
from .ops import OpError, new_ctx

Edge = tuple[str, str, int]  # (from, to, slot)
H = 1e-4  # the book's h for central differences


@dataclass
class Evaluation:
    graph: Graph
    values: dict[str, np.ndarray]
    grads: dict[str, np.ndarray | None] = field(default_factory=dict)
    edge_grads: dict[Edge, np.ndarray | None] = field(default_factory=dict)
    warnings: list[dict[str, str]] = field(default_factory=list)
    check: dict[str, dict[str, Any]] | None = None


def forward(graph: Graph, limits: Limits = DEFAULT_LIMITS, only: set[str] | None = None,
            overrides: dict[str, np.ndarray] | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Every node's value in topological order, and the ctx each op kept for its backward."""
    values: dict[str, np.ndarray] = {}
    ctxs: dict[str, Any] = {}
    total = sum(n.value.size for n in graph.nodes.values() if n.value is not None)
    for nid, node in graph.nodes.items():
        if only is not None and nid not in only:
            continue
        if node.value is not None:
            values[nid] = overrides[nid] if overrides and nid in overrides else node.value
            continue
        args = [values[src] for src in node.inputs]
        ctx = new_ctx(node.params)
        try:
            size = node.op.out_size(*(a.shape for a in args), **node.params) if node.op.grows else None
            if size is not None and size > limits.max_tensor_elements:
                raise LimitError(f"node '{nid}' ({node.op.name}) would produce {size} elements", "max_tensor_elements",
                                 limits.max_tensor_elements, nid, "inputs")
            out = np.asarray(node.op.forward(ctx, *args), dtype=np.float64)
        except OpError as e:
            shapes = " and ".join(str(list(a.shape)) for a in args)
            raise GraphError(f"node '{nid}' ({node.op.name}): {e} [input shapes {shapes}]", nid, e.field) from None
        total += out.size
        if total > limits.max_total_elements:
            raise LimitError(f"evaluating reaches {total} elements at node '{nid}'", "max_total_elements",
                             limits.max_total_elements, nid, "inputs")
        values[nid], ctxs[nid] = out, ctx
    return values, ctxs


def ancestors(graph: Graph, target: str) -> set[str]:
    seen, stack = {target}, [target]
    while stack:
        for src in graph.nodes[stack.pop()].inputs:
            if src not in seen:
                seen.add(src)
                stack.append(src)
    return seen


def backward(graph: Graph, values: dict[str, np.ndarray], ctxs: dict[str, Any], seed: np.ndarray,
             reach: set[str]) -> tuple[dict[str, np.ndarray | None], dict[Edge, np.ndarray | None]]:
    """The chain rule in reverse topological order: each node's grad is the sum over its outgoing edges."""
    grads: dict[str, np.ndarray | None] = {graph.output: seed}
    pending: dict[str, list[np.ndarray]] = {}
    edge_grads: dict[Edge, np.ndarray | None] = {}
    for nid in reversed(graph.nodes):
        node = graph.nodes[nid]
        if nid not in reach:
            grads.setdefault(nid, np.zeros_like(values[nid]))
            for slot, src in enumerate(node.inputs):
                edge_grads[(src, nid, slot)] = np.zeros_like(values[src])
            continue
        if nid != graph.output:
            parts = pending.pop(nid, None)
            grads[nid] = None if parts is None else functools.reduce(operator.add, parts)
        dout = grads[nid]
        if not node.inputs or dout is None:
            continue
        local = node.op.backward(ctxs[nid], dout)
        for slot, (src, g) in enumerate(zip(node.inputs, local)):
            if g is not None and (type(g) is not np.ndarray or g.dtype != np.float64):
                g = np.asarray(g, dtype=np.float64)
            edge_grads[(src, nid, slot)] = g
            if g is not None:
                pending.setdefault(src, []).append(g)
    return grads, edge_grads


def evaluate(graph: Graph | dict, check: bool = False, limits: Limits = DEFAULT_LIMITS) -> Evaluation:
    if not isinstance(graph, Graph):
        graph = parse_graph(graph, limits)
    with np.errstate(all="ignore"):  # non-finite results are reported as warnings, not raised
        values, ctxs = forward(graph, limits)
        seed = _seed(graph, values[graph.output])
        reach = ancestors(graph, graph.output)
        grads, edge_grads = backward(graph, values, ctxs, seed, reach)
        result = Evaluation(graph, values, grads, edge_grads)
        for nid in graph.nodes:
            g = grads.get(nid)
            if not finite(values[nid]):
                result.warnings.append({"node": nid, "message": f"node '{nid}': forward value is not finite (NaN or infinity)"})
            elif g is not None and not finite(g):
                result.warnings.append({"node": nid, "message": f"node '{nid}': gradient is not finite (NaN or infinity)"})
        if check:
            result.check = gradient_check(graph, grads, seed, reach, limits)
    return result


def _seed(graph: Graph, out: np.ndarray) -> np.ndarray:
    """The upstream gradient at the output: ones by default; a scalar grad is spread over the output's shape."""
    seed = np.ones_like(out) if graph.seed is None else graph.seed
    if seed.shape == out.shape:
        return seed
    if seed.ndim:
        raise GraphError(f"grad has shape {list(seed.shape)} but the output '{graph.output}' has shape {list(out.shape)}",
                         graph.output, "grad")
    return np.full_like(out, float(seed))


def finite(a: np.ndarray) -> bool:
    return math.isfinite(a) if a.ndim == 0 else bool(np.isfinite(a).all())


def gradient_check(graph: Graph, grads: dict[str, np.ndarray | None], seed: np.ndarray, reach: set[str],
                   limits: Limits = DEFAULT_LIMITS) -> dict[str, dict[str, Any]]:
    """Central differences (h = 1e-4) on L = sum(grad * output) for every input that backprop reached."""
    targets = [nid for nid in graph.nodes if graph.nodes[nid].op.name == "input" and grads.get(nid) is not None and nid in reach]
    work = sum(graph.nodes[t].value.size for t in targets) * 2 * max(1, len(reach))
    if work > limits.max_check_evaluations:
        raise LimitError(f"a gradient check of this graph needs {work} node evaluations", "max_check_evaluations",
                         limits.max_check_evaluations, None, "check")

    def loss(nid: str, v: np.ndarray) -> float:
        vals, _ = forward(graph, limits, only=reach, overrides={nid: v})
        return float(np.sum(seed * vals[graph.output]))

    report: dict[str, dict[str, Any]] = {}
    for nid in targets:
        base = graph.nodes[nid].value
        numerical = np.zeros_like(base)
        for i in np.ndindex(base.shape):
            bumped = base.copy()
            bumped[i] = base[i] + H
            plus = loss(nid, bumped)
            bumped[i] = base[i] - H
            numerical[i] = (plus - loss(nid, bumped)) / (2 * H)
        analytic = grads[nid]
        with np.errstate(all="ignore"):
            diff = np.abs(analytic - numerical)
            rel = diff / np.maximum(np.maximum(np.abs(analytic), np.abs(numerical)), 1e-8)
        max_rel = float(np.max(rel)) if rel.size else 0.0
        report[nid] = {"numerical": numerical, "backprop": analytic, "max_abs_error": float(np.max(diff)) if diff.size else 0.0,
                       "max_rel_error": max_rel, "ok": bool(max_rel < 1e-4)}
    return report
