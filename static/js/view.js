// The graph as SVG: dagre lays nodes out left to right; every edge carries its
// forward value above the line and its gradient below, as the book draws them.
// Contract for tests: [data-node-id] on nodes; [data-from][data-to][data-slot]
// on edges, each with one .edge-value and one .edge-grad.

import dagre from "../vendor/dagre/dagre.esm.js";
import { compact as compactValue, fmt, full } from "./format.js";
import { t } from "./i18n.js";

const SVG = "http://www.w3.org/2000/svg";
const FONT = '13px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
export const MONO = '600 13px ui-monospace, "SFMono-Regular", "Cascadia Code", "DejaVu Sans Mono", Menlo, Consolas, monospace';
const LEAF = new Set(["input", "const"]);
let measureCtx = null;

export function textWidth(s, font = FONT) {
  measureCtx ??= document.createElement("canvas").getContext("2d");
  measureCtx.font = font;
  return measureCtx.measureText(String(s)).width;
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v);
  for (const c of children) if (c != null) e.append(c);
  return e;
}

function title(text) {
  return text ? el("title", {}, text) : null;
}

/** What a node looks like: its size, symbol and input slot positions. */
export function nodeShape(node, op, valueText) {
  const symbol = op?.symbol || node.op;
  const arity = op?.arity ?? (node.inputs || []).length;
  if (LEAF.has(node.op)) {
    const w = Math.max(64, textWidth(node.label || node.id, MONO) + 24, textWidth(valueText, MONO) + 24);
    return { kind: "leaf", w: Math.min(Math.ceil(w), 260), h: 46, symbol, arity: 0 };
  }
  const symbolWidth = textWidth(symbol, "650 15px system-ui, sans-serif");
  const h = Math.max(44, 16 + arity * 18);
  if (symbolWidth <= 32 && arity <= 2) return { kind: "circle", w: 44, h: 44, symbol, arity };
  // boxes keep a margin on the left for the slot names when there are several inputs
  const pad = arity > 1 ? 16 : 0;
  return { kind: "box", w: Math.ceil(Math.max(56, symbolWidth + 28 + pad)), h, symbol, arity, pad };
}

/** Every node's shape, leaves sized for the value they show (the result's, else their own). */
export function nodeShapes(graph, ops, result, entries = 3) {
  const shapes = {};
  for (const n of graph.nodes) {
    const v = result?.nodes?.[n.id]?.value ?? n.value;
    shapes[n.id] = nodeShape(n, ops[n.op], LEAF.has(n.op) ? compactValue(v, entries) : "");
  }
  return shapes;
}

/** Room for each edge's two labels, for the layout; keyed "from>to>slot". */
export function edgeLabelSizes(graph, result, entries = 3) {
  const sizes = {};
  const edges = new Map((result?.edges || []).map((e) => [`${e.from}>${e.to}>${e.slot}`, e]));
  for (const n of graph.nodes) {
    (n.inputs || []).forEach((src, slot) => {
      const key = `${src}>${n.id}>${slot}`;
      const e = edges.get(key);
      const text = Math.max(e ? textWidth(compactValue(e.value, entries), MONO) : 0, e?.grad != null ? textWidth(compactValue(e.grad, entries), MONO) : 0);
      // rounded up to 32 px so that typing a digit does not move the whole graph
      sizes[key] = { w: Math.max(64, Math.ceil((text + 16) / 32) * 32), h: 40 };
    });
  }
  return sizes;
}

export function slotOffset(shape, slot) {
  const n = Math.max(shape.arity, 1);
  const span = shape.kind === "circle" ? 22 : shape.h - 20;
  return n === 1 ? 0 : -span / 2 + (span * slot) / (n - 1);
}

/** Positions for every node: dagre for the free ones, `pos` for dragged ones. */
export function layout(graph, shapes, labelSizes) {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "LR", nodesep: 28, ranksep: 36, edgesep: 16, marginx: 24, marginy: 24 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of graph.nodes) g.setNode(n.id, { width: shapes[n.id].w + 20, height: shapes[n.id].h + 28 });
  for (const n of graph.nodes) {
    (n.inputs || []).forEach((src, slot) => {
      if (src == null || !shapes[src]) return;
      const size = labelSizes[`${src}>${n.id}>${slot}`] || { w: 50, h: 36 };
      g.setEdge(src, n.id, { width: size.w, height: size.h, labelpos: "c" }, String(slot));
    });
  }
  dagre.layout(g);
  const pos = {};
  for (const n of graph.nodes) {
    const d = g.node(n.id);
    pos[n.id] = n.pos ? { x: n.pos.x, y: n.pos.y } : { x: d.x, y: d.y };
  }
  const labels = {};
  for (const e of g.edges()) labels[`${e.v}>${e.w}>${e.name}`] = { x: g.edge(e).x, y: g.edge(e).y };
  untangle(graph, shapes, pos, labels);
  return { pos, labels };
}

/**
 * dagre orders each column by barycentre and knows nothing of input slots, so
 * `apple_num` may land above `apple` and their edges cross. Within a column,
 * re-deal the y positions of nodes that feed exactly one slot, in the order of
 * (consumer's height, slot), right to left so consumers are placed first.
 */
function untangle(graph, shapes, pos, labels) {
  const uses = {};
  for (const n of graph.nodes) {
    (n.inputs || []).forEach((src, slot) => {
      if (src != null) (uses[src] ||= []).push({ to: n.id, slot });
    });
  }
  const columns = new Map();
  for (const n of graph.nodes) {
    if (n.pos || (uses[n.id] || []).length !== 1) continue;
    const key = `${Math.round(pos[n.id].x)}`;
    if (!columns.has(key)) columns.set(key, []);
    columns.get(key).push(n.id);
  }
  const keys = [...columns.keys()].sort((a, b) => parseFloat(b) - parseFloat(a));
  for (const key of keys) {
    const ids = columns.get(key);
    if (ids.length < 2) continue;
    const ys = ids.map((id) => pos[id].y).sort((a, b) => a - b);
    const rank = (id) => {
      const u = uses[id][0];
      return pos[u.to].y + slotOffset(shapes[u.to], u.slot);
    };
    const ordered = [...ids].sort((a, b) => rank(a) - rank(b) || uses[a][0].slot - uses[b][0].slot);
    ordered.forEach((id, i) => {
      const dy = ys[i] - pos[id].y;
      if (!dy) return;
      pos[id] = { x: pos[id].x, y: ys[i] };
      const u = uses[id][0];
      const label = labels[`${id}>${u.to}>${u.slot}`];
      if (label) labels[`${id}>${u.to}>${u.slot}`] = { x: label.x, y: label.y + dy };
    });
  }
}

function curve(s, m, t) {
  const a = Math.max(Math.abs(m.x - s.x) / 2, 12);
  const b = Math.max(Math.abs(t.x - m.x) / 2, 12);
  return `M${s.x},${s.y} C${s.x + a},${s.y} ${m.x - a},${m.y} ${m.x},${m.y} C${m.x + b},${m.y} ${t.x - b},${t.y} ${t.x},${t.y}`;
}

/**
 * Draw everything into `svg`. `model` holds: graph, ops (by name), result
 * (evaluation or null), pos, labels (layout), ui {selected, selectedEdge,
 * errors, warnings, step, check, connectFrom, output, stale, zoom, pending,
 * entries (how many entries of a matrix a label shows, default 3)}.
 */
export function render(svg, model) {
  const { graph, ops, result, shapes, pos, labels, ui } = model;
  const compact = (v, n = ui.entries ?? 3) => compactValue(v, n); // labels show `entries` entries of a matrix
  const nodesById = new Map(graph.nodes.map((n) => [n.id, n]));
  svg.replaceChildren();
  const defs = el("defs", {},
    el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "10", markerHeight: "10", markerUnits: "userSpaceOnUse", orient: "auto-start-reverse" },
      el("path", { d: "M0,0 L10,5 L0,10 z", class: "arrow-head" })));
  svg.append(defs);
  const edgesLayer = el("g", { class: "edges" });
  const nodesLayer = el("g", { class: "nodes" });
  svg.append(edgesLayer, nodesLayer);

  const edgeResult = new Map((result?.edges || []).map((e) => [`${e.from}>${e.to}>${e.slot}`, e]));
  const step = ui.step;
  const showValue = (from) => !step || step.values.has(from);
  const showGrad = (key) => !step || step.grads.has(key);
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  const grow = (x0, y0, x1, y1) => {
    minX = Math.min(minX, x0); minY = Math.min(minY, y0); maxX = Math.max(maxX, x1); maxY = Math.max(maxY, y1);
  };

  // edges
  for (const n of graph.nodes) {
    (n.inputs || []).forEach((src, slot) => {
      if (src == null || !pos[src] || !pos[n.id]) return;
      const key = `${src}>${n.id}>${slot}`;
      const sp = pos[src], tp = pos[n.id];
      const ss = shapes[src], ts = shapes[n.id];
      const s = { x: sp.x + ss.w / 2 + 5, y: sp.y };
      const tt = { x: tp.x - ts.w / 2 - 6, y: tp.y + slotOffset(ts, slot) };
      const free = !nodesById.get(src).pos && !n.pos;
      const m = free && labels[key] ? labels[key] : { x: (s.x + tt.x) / 2, y: (s.y + tt.y) / 2 };
      const r = edgeResult.get(key);
      const value = r && showValue(src) ? r.value : null;
      const grad = r && showGrad(key) ? r.grad : null;
      const classes = ["edge"];
      if (ui.selectedEdge === key) classes.push("selected");
      if (step?.current && (step.current === n.id)) classes.push("active");
      const vText = value == null ? "" : compact(value);
      const gText = grad == null ? "" : compact(grad);
      const noGrad = r && r.grad == null && showGrad(key);
      const label = t("a11y.edge", { from: src, to: n.id, slot: slotName(ops[n.op], slot) });
      const g = el("g", { class: classes.join(" "), "data-from": src, "data-to": n.id, "data-slot": slot, tabindex: "0", role: "button", "aria-label": label },
        el("path", { class: "edge-hit", d: curve(s, m, tt) }),
        el("path", { class: "edge-line", d: curve(s, m, tt), "marker-end": "url(#arrow)" }),
        el("text", { class: "edge-value" + (ui.stale ? " stale" : ""), x: m.x, y: m.y - 7, "text-anchor": "middle" }, vText),
        el("text", { class: "edge-grad" + (ui.stale ? " stale" : "") + (noGrad ? " none" : ""), x: m.x, y: m.y + 17, "text-anchor": "middle" }, gText),
        title([`${src} → ${n.id} (${slotName(ops[n.op], slot)})`, value != null ? `${t("legend.value")}: ${full(value)}` : "", grad != null ? `${t("legend.grad")}: ${full(grad)}` : noGrad ? t("edge.noGrad") : ""].filter(Boolean).join("\n")));
      edgesLayer.append(g);
      const half = Math.max(textWidth(vText, MONO), textWidth(gText, MONO)) / 2 + 4;
      grow(m.x - half, m.y - 24, m.x + half, m.y + 24);
    });
  }

  // the gradient seeded at the output, drawn as a stub leaving it (the book's "1")
  const out = ui.output;
  if (out && pos[out] && result?.nodes?.[out]) {
    const p = pos[out], sh = shapes[out];
    const s = { x: p.x + sh.w / 2 + 5, y: p.y };
    const e = { x: s.x + Math.max(70, textWidth(compact(result.nodes[out].value), MONO) + 24, textWidth(compact(result.nodes[out].grad), MONO) + 24), y: p.y };
    const r = result.nodes[out];
    const value = showValue(out) ? r.value : null;
    const grad = !step || step.grads.has("seed") ? r.grad : null;
    edgesLayer.append(el("g", { class: "sink", "data-output": out },
      el("path", { class: "edge-line", d: `M${s.x},${s.y} L${e.x},${e.y}`, "marker-end": "url(#arrow)" }),
      el("text", { class: "edge-value" + (ui.stale ? " stale" : ""), x: (s.x + e.x) / 2, y: p.y - 7, "text-anchor": "middle" }, value == null ? "" : compact(value)),
      el("text", { class: "edge-grad" + (ui.stale ? " stale" : ""), x: (s.x + e.x) / 2, y: p.y + 17, "text-anchor": "middle" }, grad == null ? "" : compact(grad)),
      title(`${t("legend.output")}: ${out}\n${t("legend.value")}: ${full(r.value)}\n${t("legend.grad")}: ${full(r.grad)}`)));
    grow(s.x, p.y - 24, e.x + 8, p.y + 24);
  }

  // nodes
  for (const n of graph.nodes) {
    const p = pos[n.id];
    if (!p) continue;
    const sh = shapes[n.id];
    const op = ops[n.op];
    const classes = ["node", `op-${n.op}`, sh.kind];
    if (ui.selected === n.id) classes.push("selected");
    if (ui.errors.has(n.id)) classes.push("error");
    if (ui.warnings.has(n.id)) classes.push("warning");
    if (n.id === out) classes.push("output");
    if (ui.pending.has(n.id)) classes.push("pending");
    if (step?.current === n.id) classes.push("current");
    if (ui.connectFrom === n.id) classes.push("connecting");
    const name = n.label || n.id;
    const g = el("g", {
      class: classes.join(" "), "data-node-id": n.id, "data-op": n.op, transform: `translate(${p.x},${p.y})`,
      tabindex: "0", role: "button", "aria-label": t("a11y.node", { id: n.id, op: op?.name || n.op }),
    });
    const w = sh.w, h = sh.h;
    if (sh.kind === "circle") {
      g.append(el("circle", { class: "node-shape", r: w / 2 }));
      g.append(el("text", { class: "node-symbol", "text-anchor": "middle", dy: "0.35em" }, sh.symbol));
      g.append(el("text", { class: "node-label", y: h / 2 + 15, "text-anchor": "middle" }, name));
    } else if (sh.kind === "box") {
      g.append(el("rect", { class: "node-shape", x: -w / 2, y: -h / 2, width: w, height: h, rx: 10 }));
      g.append(el("text", { class: "node-symbol", x: (sh.pad || 0) / 2, "text-anchor": "middle", dy: "0.35em" }, sh.symbol));
      g.append(el("text", { class: "node-label", y: h / 2 + 15, "text-anchor": "middle" }, name));
    } else {
      const r = result?.nodes?.[n.id];
      const shown = !step || step.values.has(n.id) ? (r?.value ?? n.value) : n.value;
      g.append(el("rect", { class: "node-shape", x: -w / 2, y: -h / 2, width: w, height: h, rx: 8 }));
      g.append(el("text", { class: "node-name", y: -5, "text-anchor": "middle" }, name));
      g.append(el("text", { class: "node-value", y: 13, "text-anchor": "middle" }, compact(shown)));
    }
    // input slots, labelled in order so x - y and y - x differ visibly
    for (let slot = 0; slot < sh.arity; slot++) {
      const y = slotOffset(sh, slot);
      const x = sh.kind === "circle" ? -Math.sqrt(Math.max(0, (w / 2) ** 2 - y * y)) : -w / 2;
      const open = !n.inputs || n.inputs[slot] == null;
      g.append(el("g", { class: "port in" + (open ? " open" : ""), "data-port": "in", "data-slot": slot },
        el("circle", { cx: x - 1, cy: y, r: 5 }),
        sh.arity > 1 ? el("text", { class: "slot-label", x: x + 7, y: y + 3.5 }, slotName(op, slot)) : null,
        title(t("port.in", { slot: slotName(op, slot), index: slot }))));
    }
    g.append(el("g", { class: "port out", "data-port": "out" },
      el("circle", { cx: w / 2 + 1, cy: 0, r: 5 }), title(t("port.out"))));
    // gradient check: backprop beside numerical, flagged where they disagree
    const chk = ui.check?.[n.id];
    let below = h / 2 + (sh.kind === "leaf" ? 15 : 31);
    if (chk) {
      const bad = !chk.ok;
      g.append(el("text", { class: "check" + (bad ? " bad" : " good"), y: below, "text-anchor": "middle" },
        `${bad ? "✗" : "✓"} ${t("check.short", { bp: compact(chk.backprop, 2), num: compact(chk.numerical, 2) })}`,
        title(t("check.title", { bp: full(chk.backprop), num: full(chk.numerical), err: full(chk.max_rel_error) }))));
      below += 16;
    }
    const msg = ui.errors.get(n.id) || ui.warnings.get(n.id);
    if (msg) {
      const short = msg.length > 30 ? msg.slice(0, 29) + "…" : msg;
      g.append(el("text", { class: "node-message", y: below, "text-anchor": "middle" }, short, title(msg)));
      below += 16;
    }
    if (n.id === out) g.append(el("text", { class: "output-badge", y: -h / 2 - 7, "text-anchor": "middle" }, t("legend.output")));
    g.append(title(nodeTitle(n, op, result)));
    nodesLayer.append(g);
    const extra = Math.max(w, msg ? textWidth(msg.slice(0, 30)) : 0, textWidth(name, MONO));
    grow(p.x - extra / 2 - 16, p.y - h / 2 - 22, p.x + extra / 2 + 16, p.y + below + 4);
  }
  if (!Number.isFinite(minX)) grow(0, 0, 320, 200);
  const pad = 16;
  const vb = [minX - pad, minY - pad, maxX - minX + 2 * pad, maxY - minY + 2 * pad];
  svg.setAttribute("viewBox", vb.join(" "));
  // no zoom chosen: fit the drawing to the canvas, but never blow the book's small graphs up past 1.4×
  const zoom = ui.zoom ?? (ui.fit ? Math.max(0.85, Math.min(1.4, ui.fit.w / vb[2], ui.fit.h / vb[3])) : 1);
  svg.setAttribute("width", Math.round(vb[2] * zoom));
  svg.setAttribute("height", Math.round(vb[3] * zoom));
}

export function slotName(op, slot) {
  return op?.inputs?.[slot] ?? String(slot);
}

function nodeTitle(n, op, result) {
  const r = result?.nodes?.[n.id];
  const lines = [`${n.id} (${op?.name || n.op})`];
  if (op?.forward) lines.push(op.forward);
  if (r) {
    lines.push(`${t("legend.value")}: ${full(r.value)}`);
    if (r.grad != null) lines.push(`${t("legend.grad")}: ${full(r.grad)}`);
  }
  return lines.join("\n");
}

export { fmt };
