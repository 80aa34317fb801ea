// The trained net as the editor draws graphs: x, W1, b1 -> Affine1 -> ReLU -> Affine2 (W2, b2)
// -> Softmax-with-Loss (t), forward values above each edge and gradients below, for one image.
// Tensors are labelled by shape and range ("784×50 ∈[-0.31, 0.42]"): their first entries
// would be the image's empty corner. W1 arrives as statistics only (see predict's summary).

import { fmt, full, shapeText } from "./format.js";
import { t } from "./i18n.js";
import { layout, MONO, nodeShape, render, textWidth } from "./view.js";

const LEAF = new Set(["input", "const"]);

function flatNumbers(v) {
  return (Array.isArray(v) ? v.flat(Infinity) : [v]).map(Number).filter(Number.isFinite);
}

function statsOf(v) {
  const xs = flatNumbers(v);
  if (!xs.length) return null;
  let min = Infinity, max = -Infinity, sum = 0, sq = 0;
  for (const x of xs) {
    if (x < min) min = x;
    if (x > max) max = x;
    sum += x;
    sq += x * x;
  }
  return { min, max, mean: sum / xs.length, norm: Math.sqrt(sq) };
}

/** Two significant digits: a range on an edge is read at a glance; the node line has more. */
export function short(x) {
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1e4 || a < 1e-3) return x.toExponential(1).replace("e+", "e");
  return String(Number(x.toPrecision(2)));
}

/** A tensor in a few characters: a scalar as itself, else its shape (unless left out) and range. */
export function tensorText(value, shape, stats, withShape = true) {
  if (value == null && !stats) return null;
  if (!shape.length) return fmt(value);
  const s = stats || statsOf(value);
  if (!s) return shapeText(shape);
  const range = s.min === s.max ? short(s.min) : `${short(s.min)}, ${short(s.max)}`;
  return `${withShape ? `${shapeText(shape)} ` : ""}∈[${range}]`;
}

/**
 * The evaluation with every value and gradient replaced by the text the drawing shows; leaves
 * show their shape (their edge shows the range), the label t its digit.
 */
export function displayed(ev) {
  const nodes = {}, edgeText = {};
  for (const [id, n] of Object.entries(ev.nodes)) {
    const label = id === "t" ? fmt(flatNumbers(n.value)[0]) : null;
    edgeText[id] = {
      value: label ?? tensorText(n.value, n.shape, n.stats?.value),
      // the gradient has the value's shape: said once, above the line
      grad: id === "t" ? null : tensorText(n.grad, n.shape, n.stats?.grad, false),
    };
    nodes[id] = { ...n, ...edgeText[id] };
    if (n.op === "input") nodes[id].value = label ?? shapeText(n.shape);
  }
  const edges = ev.edges.map((e) => ({ ...e, ...edgeText[e.from] }));
  return { ...ev, nodes, edges };
}

/** The graph (editor format) behind an evaluation: each node's inputs from the edges. */
export function graphOf(ev) {
  const inputs = {};
  for (const e of ev.edges) (inputs[e.to] ||= [])[e.slot] = e.from;
  return { nodes: ev.order.map((id) => ({ id, op: ev.nodes[id].op, inputs: inputs[id] || [] })) };
}

export class NetGraph {
  constructor(svg, canvas, { onSelect } = {}) {
    this.svg = svg;
    this.canvas = canvas;
    this.ops = {};
    this.ev = null;
    this.selected = null;
    this.cache = null;
    this.onSelect = onSelect;
    const pick = (e) => {
      const node = e.target.closest?.("[data-node-id]");
      const edge = e.target.closest?.("[data-from]");
      if (node) this.select(node.dataset.nodeId);
      else if (edge) this.select(edge.dataset.from);
    };
    svg.addEventListener("click", pick);
    svg.addEventListener("focusin", pick);
    new ResizeObserver(() => this.ev && this.draw()).observe(canvas);
  }

  setOps(list) {
    this.ops = Object.fromEntries(list.map((o) => [o.name, o]));
  }

  show(ev, { stale = false } = {}) {
    this.ev = ev;
    this.shown = displayed(ev);
    this.stale = stale;
    this.draw();
    if (this.selected) this.onSelect?.(this.selected, this.detail(this.selected));
  }

  select(id) {
    // re-rendering refocuses the focused node, which fires focusin again: nothing to do then
    if (!this.ev?.nodes[id] || id === this.selected) return;
    this.selected = id;
    this.draw();
    this.onSelect?.(id, this.detail(id));
  }

  /** What the side line says about a node: its op, shape, and its value's and gradient's statistics. */
  detail(id) {
    const n = this.ev?.nodes[id];
    if (!n) return null;
    return { id, op: n.op, shape: n.shape, value: n.stats?.value || (n.shape.length ? statsOf(n.value) : null),
      grad: n.stats?.grad || (n.grad != null && n.shape.length ? statsOf(n.grad) : null), scalarValue: n.shape.length ? null : n.value,
      scalarGrad: n.shape.length ? null : n.grad };
  }

  fit() {
    const cs = getComputedStyle(this.canvas);
    const w = this.canvas.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    const h = this.canvas.clientHeight - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom);
    return w > 0 && h > 0 ? { w, h } : null;
  }

  draw() {
    const ev = this.shown;
    if (!ev) return;
    const graph = graphOf(ev);
    const shapes = {};
    for (const n of graph.nodes) shapes[n.id] = nodeShape(n, this.ops[n.op], LEAF.has(n.op) ? ev.nodes[n.id].value ?? "" : "");
    const sizes = {};
    for (const e of ev.edges) {
      const w = Math.max(textWidth(e.value ?? "", MONO), textWidth(e.grad ?? "", MONO));
      sizes[`${e.from}>${e.to}>${e.slot}`] = { w: Math.max(64, Math.ceil((w + 16) / 32) * 32), h: 40 };
    }
    // the layout only moves when a label grows past its 32 px step
    const sig = JSON.stringify([graph.nodes.map((n) => [n.id, shapes[n.id].w]), Object.values(sizes).map((s) => s.w)]);
    if (this.cache?.sig !== sig) this.cache = { sig, ...layout(graph, shapes, sizes) };
    const focused = this.svg.contains(document.activeElement) ? document.activeElement.dataset.nodeId : null;
    const fit = this.fit();
    render(this.svg, {
      graph, ops: this.ops, result: ev, shapes, pos: this.cache.pos, labels: this.cache.labels,
      ui: { selected: this.selected, selectedEdge: null, errors: new Map(), warnings: new Map(), pending: new Set(), step: null,
        check: null, connectFrom: null, output: ev.output, stale: this.stale, zoom: null,
        // never blow the drawing up past its natural size, and never shrink it below readable
        fit: fit && { w: fit.w, h: Math.max(fit.h, 1) } },
    });
    const vb = this.svg.getAttribute("viewBox").split(" ").map(Number);
    const zoom = fit ? Math.max(0.62, Math.min(1.15, fit.w / vb[2])) : 1;
    this.svg.setAttribute("width", Math.round(vb[2] * zoom));
    this.svg.setAttribute("height", Math.round(vb[3] * zoom));
    this.svg.dataset.evaluated = "true";
    if (focused) this.svg.querySelector(`[data-node-id="${CSS.escape(focused)}"]`)?.focus({ preventScroll: true });
  }

  clear() {
    this.ev = this.shown = null;
    this.svg.replaceChildren();
    this.svg.removeAttribute("width");
    this.svg.removeAttribute("height");
    delete this.svg.dataset.evaluated;
  }
}

/** The node line under the drawing, as DOM. */
export function detailLine(d) {
  const frag = document.createDocumentFragment();
  if (!d) return frag;
  const b = document.createElement("b");
  b.textContent = `${d.id}`;
  frag.append(b, ` ${d.op === "input" ? "" : `(${d.op}) `}${shapeText(d.shape)} · `);
  const part = (cls, label, s, scalar) => {
    const span = document.createElement("span");
    span.className = cls;
    span.textContent = scalar != null ? `${label} ${fmt(scalar)}` : s ? `${label} min ${fmt(s.min)} · max ${fmt(s.max)} · mean ${fmt(s.mean)} · ‖·‖ ${fmt(s.norm)}` : `${label} —`;
    span.title = scalar != null ? full(scalar) : "";
    return span;
  };
  frag.append(part("v", t("net.detail.value"), d.value, d.scalarValue), "  ", part("g", t("net.detail.grad"), d.grad, d.scalarGrad));
  return frag;
}
