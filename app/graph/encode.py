"""Evaluation -> JSON. JSON has no NaN or Infinity: those become the strings "NaN", "Infinity", "-Infinity"."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .engine import Evaluation

NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def encode(a: np.ndarray | float | None) -> Any:
    """A scalar as a JSON number, a tensor as nested lists; non-finite entries as strings."""
    if a is None:
        return None
    if type(a) is not np.ndarray:
        a = np.asarray(a)
    if a.ndim == 0:
        x = a.item()
        return x if math.isfinite(x) else NON_FINITE[repr(float(x))]
    if np.all(np.isfinite(a)):
        return a.tolist()
    out = a.astype(object)
    bad = ~np.isfinite(a)
    out[bad] = [NON_FINITE[repr(float(x))] for x in a[bad]]
    return out.tolist()


def evaluation_to_json(ev: Evaluation) -> dict[str, Any]:
    g = ev.graph
    nodes: dict[str, Any] = {}
    edges: list[dict[str, Any]] = []
    encoded = {nid: encode(v) for nid, v in ev.values.items()}
    for nid, node in g.nodes.items():
        entry = {"op": node.op.name, "value": encoded[nid], "shape": list(ev.values[nid].shape), "grad": encode(ev.grads.get(nid))}
        if node.label is not None:
            entry["label"] = node.label
        nodes[nid] = entry
        for slot, src in enumerate(node.inputs):
            edges.append({"from": src, "to": nid, "slot": slot, "value": encoded[src], "grad": encode(ev.edge_grads.get((src, nid, slot)))})
    out: dict[str, Any] = {"output": g.output, "order": list(g.nodes), "nodes": nodes, "edges": edges, "warnings": ev.warnings}
    if ev.check is not None:
        # The errors too: a non-finite value makes them NaN, which JSON cannot carry either.
        out["check"] = {nid: {k: v if type(v) is bool else encode(v) for k, v in c.items()} for nid, c in ev.check.items()}
    return out
