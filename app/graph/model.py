"""Graph JSON -> a validated graph in topological order, or a GraphError naming node and field."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import GraphError, LimitError
from .limits import DEFAULT_LIMITS, Limits
from .ops import REGISTRY, Op, Param


@dataclass(eq=False, slots=True)
class Node:
    id: str
    op: Op
    inputs: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    value: np.ndarray | None = None
    label: str | None = None


@dataclass(eq=False)
class Graph:
    nodes: dict[str, Node]  # in topological order
    output: str
    seed: np.ndarray | None = None
    consumers: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def to_array(value: Any, limits: Limits, node: str | None, where: str) -> np.ndarray:
    """A JSON number or nested list as a float64 array; anything else is the user's error."""
    try:
        return _to_array(value, limits, node, where)
    except GraphError as e:
        if node is not None and not e.message.startswith("node "):
            e.message = f"node '{node}': {e.message}"
            e.args = (e.message,)
        raise


def _to_array(value: Any, limits: Limits, node: str | None, where: str) -> np.ndarray:
    if type(value) in (int, float):
        if not math.isfinite(value):
            raise GraphError(f"{where} must be a finite number, got {value}", node, where)
        return np.array(float(value))
    if not isinstance(value, list):
        raise GraphError(f"{where} must be a number or a nested list of numbers, got {type(value).__name__}", node, where)
    try:
        arr = np.array(value)
    except (ValueError, RecursionError):
        raise GraphError(f"{where} is ragged: every row of a tensor must have the same length", node, where) from None
    if arr.dtype.kind not in "iuf" or arr.size and arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise GraphError(f"{where} must hold only finite numbers (no strings, booleans, nulls or huge values)", node, where)
    if arr.ndim > limits.max_rank:
        raise LimitError(f"{where} has rank {arr.ndim}", "max_rank", limits.max_rank, node, where)
    if arr.size > limits.max_tensor_elements:
        raise LimitError(f"{where} has {arr.size} elements", "max_tensor_elements", limits.max_tensor_elements, node, where)
    return arr.astype(np.float64, copy=False)


def parse_params(op: Op, raw: Any, node: str, limits: Limits) -> dict[str, Any]:
    if not raw and not op.params:
        return {}
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise GraphError("params must be an object", node, "params")
    unknown = set(raw) - set(op.params)
    if unknown:
        allowed = ", ".join(op.params) or "none"
        raise GraphError(f"op '{op.name}' has no param {sorted(unknown)[0]!r} (allowed: {allowed})", node, f"params.{sorted(unknown)[0]}")
    return {name: _param(spec, raw.get(name, spec.default), node, f"params.{name}", limits) for name, spec in op.params.items()}


def _param(spec: Param, v: Any, node: str, where: str, limits: Limits) -> Any:
    is_int = type(v) is int
    ok = {
        "number": type(v) in (int, float) and math.isfinite(v),
        "int": is_int,
        "axis": v is None or is_int,
        "bool": type(v) is bool,
        "axes": v is None or (isinstance(v, list) and len(v) <= limits.max_rank and all(type(a) is int for a in v)),
        "shape": isinstance(v, list) and len(v) <= limits.max_rank and all(type(a) is int and a >= -1 for a in v) and v.count(-1) <= 1,
    }[spec.kind]
    if not ok:
        expected = {"number": "a finite number", "int": "an integer", "axis": "null or an integer", "bool": "true or false",
                    "axes": "null or a list of integers", "shape": "a list of integers >= -1 with at most one -1"}[spec.kind]
        raise GraphError(f"{where} must be {expected}, got {v!r}"[:300], node, where)
    return float(v) if spec.kind == "number" else v


def parse_graph(data: Any, limits: Limits = DEFAULT_LIMITS) -> Graph:
    if not isinstance(data, Mapping) or not isinstance(data.get("nodes"), list):
        raise GraphError("a graph is an object with a list of nodes", None, "nodes")
    raw_nodes = data["nodes"]
    if not raw_nodes:
        raise GraphError("the graph has no nodes", None, "nodes")
    if len(raw_nodes) > limits.max_nodes:
        raise LimitError(f"the graph has {len(raw_nodes)} nodes", "max_nodes", limits.max_nodes, None, "nodes")
    nodes: dict[str, Node] = {}
    total = 0
    for i, raw in enumerate(raw_nodes):
        node = _parse_node(raw, i, nodes, limits)
        nodes[node.id] = node
        total += node.value.size if node.value is not None else 0
        if total > limits.max_total_elements:
            raise LimitError(f"the graph's values hold {total} elements", "max_total_elements", limits.max_total_elements, node.id, "value")
    consumers: dict[str, list[tuple[str, int]]] = {nid: [] for nid in nodes}
    for node in nodes.values():
        for slot, src in enumerate(node.inputs):
            if src not in nodes:
                raise GraphError(f"node '{node.id}' input {slot} names unknown node '{src}'", node.id, f"inputs.{slot}")
            consumers[src].append((node.id, slot))
    # The cycle check comes first: a graph that is all cycle has no sink, and "say which is the output" would hide it.
    ordered = {nid: nodes[nid] for nid in _topological_order(nodes, consumers)}
    output = _pick_output(data.get("output"), nodes, consumers)
    seed = None if data.get("grad") is None else to_array(data["grad"], limits, output, "grad")
    return Graph(ordered, output, seed, consumers)


def _parse_node(raw: Any, i: int, seen: Mapping[str, Node], limits: Limits) -> Node:
    if type(raw) is not dict and not isinstance(raw, Mapping):
        raise GraphError(f"nodes[{i}] must be an object with id and op", None, f"nodes.{i}")
    get = raw.get
    nid = get("id")
    if type(nid) is not str or not nid.strip() or len(nid) > limits.max_id_length:
        raise GraphError(f"nodes[{i}].id must be a non-empty string of at most {limits.max_id_length} characters", None, "id")
    if nid in seen:
        raise GraphError(f"duplicate node id '{nid}'", nid, "id")
    name = get("op")
    op = REGISTRY.get(name) if type(name) is str else None
    if op is None:
        raise GraphError(f"node '{nid}': unknown op {name!r}; known ops: {', '.join(REGISTRY)}", nid, "op")
    inputs = get("inputs") or ()
    if type(inputs) not in (list, tuple) or any(type(s) is not str for s in inputs):
        raise GraphError(f"node '{nid}': inputs must be a list of node ids", nid, "inputs")
    if len(inputs) != op.arity:
        slots = ", ".join(op.inputs) or "none"
        raise GraphError(f"node '{nid}': op '{op.name}' takes {op.arity} input(s) ({slots}), got {len(inputs)}", nid, "inputs")
    value = None
    if op.leaf:
        raw_value = get("value")
        if raw_value is None:
            raise GraphError(f"node '{nid}': an {op.name} node needs a value", nid, "value")
        value = to_array(raw_value, limits, nid, "value")
    label = get("label")
    if label is not None and type(label) is not str:
        raise GraphError(f"node '{nid}': label must be a string", nid, "label")
    return Node(nid, op, tuple(inputs), parse_params(op, get("params"), nid, limits), value, label)


def _pick_output(output: Any, nodes: Mapping[str, Node], consumers: Mapping[str, list]) -> str:
    if output is not None:
        if not isinstance(output, str) or output not in nodes:
            raise GraphError(f"output names unknown node {output!r}", None, "output")
        return output
    sinks = [nid for nid, used in consumers.items() if not used]
    if len(sinks) != 1:
        raise GraphError(f"the graph has {len(sinks)} sinks ({', '.join(sinks[:10])}): say which is the output", None, "output")
    return sinks[0]


def _topological_order(nodes: Mapping[str, Node], consumers: Mapping[str, list[tuple[str, int]]]) -> list[str]:
    """Kahn's algorithm, ties broken by the order nodes were given in; a cycle is named node by node."""
    waiting = {nid: len(n.inputs) for nid, n in nodes.items()}
    ready = deque(nid for nid, k in waiting.items() if k == 0)
    order: list[str] = []
    while ready:
        nid = ready.popleft()
        order.append(nid)
        for dst, _ in consumers[nid]:
            waiting[dst] -= 1
            if waiting[dst] == 0:
                ready.append(dst)
    if len(order) < len(nodes):
        cycle = _find_cycle(nodes, {nid for nid, k in waiting.items() if k > 0})
        raise GraphError(f"the graph has a cycle: {' -> '.join(cycle)}", cycle[0], "inputs", cycle=cycle)
    return order


def _find_cycle(nodes: Mapping[str, Node], stuck: set[str]) -> list[str]:
    # Every stuck node has a stuck input, so walking inputs must revisit a node: that loop is a cycle.
    path: list[str] = []
    at = next(iter(stuck))
    while at not in path:
        path.append(at)
        at = next(src for src in nodes[at].inputs if src in stuck)
    cycle = path[path.index(at):][::-1]
    return cycle + [cycle[0]]
