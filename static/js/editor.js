// The graph editor page: wires the toolbar, the palette, the SVG view and the
// side panel to one Doc, and re-evaluates through the API after every change.

import { api, ApiError, atNode } from "./api.js";
import { parseValue, valueText } from "./format.js";
import { applyI18n, has, t, tOr } from "./i18n.js";
import { download, fromBase64Url, graphProblem, hashLink, linkedGraph, loadLocal, saveLocal, standaloneSvg, svgToPng } from "./io.js";
import { Panel } from "./panel.js";
import { explain, planSteps, stepState } from "./rules.js";
import { Doc, effectiveOutput, evaluable, openSlots, sinks } from "./state.js";
import { edgeLabelSizes, layout, nodeShapes, render } from "./view.js";

const $ = (sel) => document.querySelector(sel);
const LEAF = new Set(["input", "const"]);
const GROUPS = {
  leaf: ["input", "const"],
  basic: ["add", "sub", "mul", "div", "neg", "pow", "square", "sqrt", "reciprocal"],
  func: ["exp", "log", "sigmoid", "relu", "tanh"],
  tensor: ["matmul", "affine", "sum", "mean", "transpose", "reshape", "softmax"],
  loss: ["softmax_with_loss", "cross_entropy", "sum_squared_error"],
};
const FUNCTIONS = new Set(["exp", "log", "sqrt", "sigmoid", "relu", "tanh", "sum", "mean", "softmax", "transpose",
  "reshape", "square", "reciprocal", "neg", "pow", "matmul", "affine", "np", "math", "and", "or", "not", "in", "is", "if", "else"]);

const S = {
  ops: {},
  result: null,
  checkResult: null,
  errors: new Map(),
  warnings: new Map(),
  pending: new Set(),
  stale: false,
  selected: null,
  selectedEdge: null,
  connectFrom: null,
  zoom: null,
  check: false,
  step: null,
  drafts: new Map(),
  draftErrors: new Map(),
  exprValues: {},
  layoutCache: null,
  dragPos: null,
  seq: 0,
  inflight: null,
  timer: null,
  timerPending: false,
  busy: 0, // example, expression or shared-graph requests under way
  lastEvalMs: null,
};

const doc = new Doc(onChange);
const svg = $("#graph");
const arity = (opName) => S.ops[opName]?.arity ?? 0;

// ---------- messages ----------

function say(text, kind = "info") {
  const box = $("#messages");
  let line = box.querySelector(".info-line");
  if (!line) {
    line = document.createElement("p");
    line.className = "info-line";
    box.prepend(line);
  }
  line.textContent = text;
  line.dataset.kind = kind;
}

function showProblems(general = []) {
  const box = $("#messages");
  box.querySelectorAll(".problem").forEach((p) => p.remove());
  const add = (text, kind, node) => {
    const p = document.createElement("p");
    p.className = `problem ${kind}`;
    if (node) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "link";
      b.textContent = node;
      b.addEventListener("click", () => select(node));
      p.append(b, `: ${text}`);
    } else p.textContent = text;
    box.append(p);
  };
  for (const g of general) add(g, "error");
  for (const [node, msg] of S.errors) if (!S.pending.has(node)) add(msg, "error", node);
  for (const [node, msg] of S.warnings) add(msg, "warning", node);
  if (S.pending.size) add(t("msg.waiting", { ids: [...S.pending].join(", ") }), "pending");
}

// ---------- evaluation ----------

function onChange({ reason, relayout }) {
  saveLocal(doc.graph);
  if (relayout) S.layoutCache = null;
  if (S.step) exitStep(false);
  if (S.selected && !doc.node(S.selected)) S.selected = null;
  if (S.selectedEdge) {
    const [from, to, slot] = S.selectedEdge.split(">");
    if (doc.node(to)?.inputs?.[Number(slot)] !== from) S.selectedEdge = null;
  }
  S.stale = true;
  draw();
  panel.render(reason !== "value" && reason !== "param");
  schedule(reason === "value" || reason === "param" ? 25 : 0);
  updateButtons();
}

function schedule(delay) {
  clearTimeout(S.timer);
  S.timerPending = true;
  S.timer = setTimeout(evaluate, delay);
}

/** What is sent: the nodes that can be evaluated now, and the output to seed. */
function request() {
  const g = doc.graph;
  const ok = new Set(evaluable(g, arity));
  S.pending = new Set(g.nodes.filter((n) => !ok.has(n.id)).map((n) => n.id));
  const sent = { nodes: g.nodes.filter((n) => ok.has(n.id)) };
  if (!sent.nodes.length) return null;
  let out = effectiveOutput(g, arity);
  if (!ok.has(out)) out = effectiveOutput(sent, arity);
  sent.output = out;
  if (g.grad != null && out === g.output) sent.grad = g.grad;
  return sent;
}

async function evaluate() {
  S.timerPending = false;
  const body = request();
  const seq = ++S.seq;
  S.inflight?.abort();
  S.errors = new Map([...S.pending].map((id) => [id, t("msg.incomplete")]));
  if (!body) {
    S.result = null;
    S.stale = false;
    draw();
    panel.renderComputed();
    showProblems();
    svg.dataset.evaluated = String(seq);
    return;
  }
  const ctrl = new AbortController();
  S.inflight = ctrl;
  const t0 = performance.now();
  try {
    const result = await api.evaluate(body, { check: S.check, signal: ctrl.signal });
    if (seq !== S.seq) return;
    S.result = result;
    S.checkResult = S.check ? result.check || {} : null;
    S.warnings = new Map((result.warnings || []).filter((w) => w.node).map((w) => [w.node, atNode(w.message, w.node, doc.node(w.node)?.op)]));
    S.stale = false;
    S.lastEvalMs = performance.now() - t0;
    draw();
    panel.renderComputed();
    showProblems((result.warnings || []).filter((w) => !w.node).map((w) => w.message));
    svg.dataset.evaluated = String(seq);
  } catch (err) {
    if (err.name === "AbortError" || seq !== S.seq) return;
    const general = [];
    if (err instanceof ApiError && err.status !== 0) {
      for (const e of err.errors) {
        const msg = e.node && doc.node(e.node) ? atNode(e.message || err.detail, e.node, doc.node(e.node).op) : e.message || err.detail;
        if (e.node && doc.node(e.node)) S.errors.set(e.node, S.errors.has(e.node) ? `${S.errors.get(e.node)}; ${msg}` : msg);
        else general.push(e.field ? `${e.field}: ${msg}` : msg);
      }
      if (!err.errors.length) general.push(err.detail);
      say(t("error.title"), "error");
    } else general.push(t("error.network"));
    S.stale = true;
    draw();
    showProblems(general);
    svg.dataset.evaluated = String(seq);
  }
}

// ---------- drawing ----------

function shapesFor(graph) {
  return nodeShapes(graph, S.ops, S.result);
}

function labelSizes(graph) {
  return edgeLabelSizes(graph, S.result);
}

function currentLayout(graph, shapes) {
  const sizes = labelSizes(graph);
  const sig = JSON.stringify(graph.nodes.map((n) => [n.id, n.inputs, n.pos, Math.ceil(shapes[n.id].w / 24), shapes[n.id].h]))
    + JSON.stringify(Object.values(sizes).map((s) => s.w));
  if (S.layoutCache?.sig !== sig) S.layoutCache = { sig, ...layout(graph, shapes, sizes) };
  return S.layoutCache;
}

function canvasSize() {
  const c = $("#canvas");
  const cs = getComputedStyle(c);
  const w = c.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
  const h = c.clientHeight - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom);
  return w > 0 && h > 0 ? { w, h } : null;
}

function draw() {
  const graph = doc.graph;
  const focused = document.activeElement;
  const focusKey = svg.contains(focused) ? focused.dataset.nodeId ?? (focused.dataset.from ? `${focused.dataset.from}>${focused.dataset.to}>${focused.dataset.slot}` : null) : null;
  const shapes = shapesFor(graph);
  const { pos: base, labels } = currentLayout(graph, shapes);
  const pos = { ...base };
  if (S.dragPos) pos[S.dragPos.id] = S.dragPos;
  const st = S.step ? stepState(S.step.steps, S.step.k, S.result) : null;
  render(svg, {
    graph, ops: S.ops, result: S.result, shapes, pos, labels,
    ui: {
      selected: S.selected, selectedEdge: S.selectedEdge, errors: S.errors, warnings: S.warnings,
      pending: S.pending, step: st, check: S.checkResult, connectFrom: S.connectFrom,
      output: S.result?.output ?? effectiveOutput(graph, arity), stale: S.stale, zoom: S.zoom, fit: canvasSize(),
    },
  });
  $("#empty").hidden = graph.nodes.length > 0;
  svg.classList.toggle("connecting", !!S.connectFrom);
  if (focusKey) {
    const again = focusKey.includes(">")
      ? svg.querySelector(`[data-from="${CSS.escape(focusKey.split(">")[0])}"][data-to="${CSS.escape(focusKey.split(">")[1])}"][data-slot="${focusKey.split(">")[2]}"]`)
      : svg.querySelector(`[data-node-id="${CSS.escape(focusKey)}"]`);
    again?.focus({ preventScroll: true });
  }
  renderStepInfo(st);
}

// ---------- actions (also called by the panel) ----------

function select(id) {
  S.selected = id;
  S.selectedEdge = null;
  draw();
  panel.render();
}

function selectEdge(key) {
  S.selected = null;
  S.selectedEdge = key;
  draw();
  panel.render();
}

const ctl = {
  S, doc,
  ops: () => S.ops,
  outputId: () => S.result?.output ?? effectiveOutput(doc.graph, arity),
  dependsOn(a, b) {
    // does node a (transitively) take b as an input?
    const seen = new Set();
    const walk = (id) => {
      if (id === b) return true;
      if (seen.has(id)) return false;
      seen.add(id);
      return (doc.node(id)?.inputs || []).some((s) => s != null && walk(s));
    };
    return walk(a);
  },
  editValue(id, text, from) {
    let value;
    try {
      value = parseValue(text);
    } catch (e) {
      S.drafts.set(id, text);
      S.draftErrors.set(id, t("error.badValue", { reason: e.message }));
      const box = document.querySelector("#panel-value-error");
      if (box && from === "panel") box.textContent = S.draftErrors.get(id);
      return false;
    }
    S.drafts.delete(id);
    S.draftErrors.delete(id);
    const box = document.querySelector("#panel-value-error");
    if (box) box.textContent = "";
    if (JSON.stringify(value) === JSON.stringify(doc.node(id)?.value)) return true;
    doc.setValue(id, value);
    return true;
  },
  editParam(id, name, text, spec) {
    let v = null;
    const s = text.trim();
    if (s !== "" && s !== "null" && s !== "None") {
      try {
        v = JSON.parse(s.replace(/\(/g, "[").replace(/\)/g, "]"));
      } catch {
        return;
      }
    }
    if (spec?.type === "number" && typeof v !== "number") return;
    doc.setParam(id, name, v);
  },
  rename(oldId, newId, field) {
    const problem = doc.rename(oldId, newId);
    const box = document.querySelector("#panel-name-error");
    if (problem) {
      if (box) box.textContent = t(problem);
      return;
    }
    if (box) box.textContent = "";
    if (S.drafts.has(oldId)) {
      S.drafts.set(newId, S.drafts.get(oldId));
      S.drafts.delete(oldId);
    }
    S.selected = newId;
    S.layoutCache = null;
    draw();
    panel.render(true);
  },
  wire(to, slot, from) {
    if (from) connect(from, to, slot);
    else doc.disconnect(to, slot);
  },
  setOutput(id) {
    doc.setOutput(id);
    panel.render(true);
  },
  deleteNode(id) {
    doc.deleteNode(id);
    S.drafts.delete(id);
    say(t("msg.deleted", { id }));
  },
  deleteEdge(to, slot) {
    doc.disconnect(to, slot);
    S.selectedEdge = null;
    panel.render(true);
    say(t("msg.edgeDeleted", { to }));
  },
};
const panel = new Panel($("#panel"), ctl);

function connect(from, to, slot) {
  const res = doc.connect(from, to, slot, arity(doc.node(to).op));
  if (res === "cycle") say(t("msg.cycle"), "error");
  else if (res) say(t("msg.connected", { from, to, slot: S.ops[doc.node(to).op]?.inputs?.[slot] ?? slot }));
}

function deleteSelection() {
  if (S.selected) ctl.deleteNode(S.selected);
  else if (S.selectedEdge) {
    const [, to, slot] = S.selectedEdge.split(">");
    ctl.deleteEdge(to, Number(slot));
  }
}

function addFromPalette(op) {
  const id = doc.addNode(op);
  select(id);
  svg.querySelector(`[data-node-id="${CSS.escape(id)}"]`)?.scrollIntoView?.({ block: "nearest", inline: "nearest" });
}

/** Leaves carry no inputs: drop the empty lists a server may add, so the graph reads as it was written. */
function tidy(graph) {
  const g = structuredClone(graph);
  for (const n of g.nodes) if (Array.isArray(n.inputs) && !n.inputs.length && LEAF.has(n.op)) delete n.inputs;
  return g;
}

function loadGraph(graph, message, example = "") {
  $("#example-select").value = example;
  S.selected = null;
  S.selectedEdge = null;
  S.connectFrom = null;
  S.drafts.clear();
  S.draftErrors.clear();
  S.layoutCache = null;
  S.result = null;
  doc.load(tidy(graph));
  if (message) say(message);
}

// ---------- in-place value editor ----------

function editInPlace(id) {
  const node = doc.node(id);
  if (!node || !LEAF.has(node.op)) {
    select(id);
    return;
  }
  const g = svg.querySelector(`[data-node-id="${CSS.escape(id)}"]`);
  if (!g) return;
  $("#inplace")?.remove();
  const box = g.getBoundingClientRect();
  const host = $("#canvas").getBoundingClientRect();
  const text = S.drafts.get(id) ?? valueText(node.value);
  const multi = text.includes("\n") || text.includes("[");
  const f = document.createElement(multi ? "textarea" : "input");
  f.id = "inplace";
  f.className = "inplace";
  f.value = text;
  f.setAttribute("aria-label", `${t("panel.value")} ${id}`);
  f.spellcheck = false;
  const canvas = $("#canvas");
  f.style.left = `${box.left - host.left + canvas.scrollLeft - 6}px`;
  f.style.top = `${box.top - host.top + canvas.scrollTop + (multi ? 0 : box.height / 2 - 4)}px`;
  f.style.minWidth = `${Math.max(box.width + 12, 90)}px`;
  if (multi) f.rows = Math.min(8, text.split("\n").length + 1);
  canvas.append(f);
  f.focus();
  f.select();
  const original = node.value;
  const close = (keep) => {
    if (!f.isConnected) return;
    if (!keep && JSON.stringify(doc.node(id)?.value) !== JSON.stringify(original)) doc.setValue(id, original);
    f.remove();
    svg.querySelector(`[data-node-id="${CSS.escape(id)}"]`)?.focus();
  };
  f.addEventListener("input", () => {
    const ok = ctl.editValue(id, f.value, "inplace");
    f.classList.toggle("invalid", !ok);
    f.title = ok ? "" : S.draftErrors.get(id) || "";
  });
  f.addEventListener("keydown", (e) => {
    if (e.key === "Escape") { e.preventDefault(); close(false); }
    if (e.key === "Enter" && (!multi || e.ctrlKey || e.metaKey)) { e.preventDefault(); close(true); }
    e.stopPropagation();
  });
  f.addEventListener("blur", () => setTimeout(() => close(true), 0));
}

// ---------- pointer interaction on the drawing ----------

function svgPoint(evt) {
  const p = svg.createSVGPoint();
  p.x = evt.clientX;
  p.y = evt.clientY;
  return p.matrixTransform(svg.getScreenCTM().inverse());
}

svg.addEventListener("pointerdown", (evt) => {
  if (evt.button !== 0) return;
  const port = evt.target.closest("[data-port]");
  const nodeEl = evt.target.closest("[data-node-id]");
  const edgeEl = evt.target.closest("[data-from]");
  if (port && nodeEl) {
    evt.preventDefault();
    const id = nodeEl.dataset.nodeId;
    if (port.dataset.port === "out") {
      S.connectFrom = S.connectFrom === id ? null : id;
      if (S.connectFrom) say(t("msg.connectFrom", { id }));
      draw();
    } else if (S.connectFrom) {
      const from = S.connectFrom;
      S.connectFrom = null;
      connect(from, id, Number(port.dataset.slot));
      draw();
    } else {
      const src = doc.node(id)?.inputs?.[Number(port.dataset.slot)];
      if (src != null) selectEdge(`${src}>${id}>${port.dataset.slot}`);
    }
    return;
  }
  if (nodeEl) {
    const id = nodeEl.dataset.nodeId;
    if (S.connectFrom && S.connectFrom !== id) {
      const open = openSlots({ nodes: [doc.node(id)] }, arity)[0];
      const from = S.connectFrom;
      S.connectFrom = null;
      if (open) connect(from, id, open.slot);
      else draw();
      return;
    }
    const start = svgPoint(evt);
    const { pos } = S.layoutCache;
    const origin = { ...pos[id] };
    let moved = false;
    const move = (e) => {
      const p = svgPoint(e);
      if (!moved && Math.hypot(p.x - start.x, p.y - start.y) < 4) return;
      moved = true;
      S.dragPos = { id, x: origin.x + p.x - start.x, y: origin.y + p.y - start.y };
      draw();
    };
    const up = () => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", up);
      if (moved && S.dragPos) {
        const p = S.dragPos;
        S.dragPos = null;
        doc.move(id, p);
        return;
      }
      // the drawing is redrawn on the first click, so a double click is told by time, not by the dblclick event
      const now = performance.now();
      const again = S.lastClick?.id === id && now - S.lastClick.t < 450;
      S.lastClick = again ? null : { id, t: now };
      if (again) editInPlace(id);
      else select(id);
    };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
    return;
  }
  if (edgeEl) {
    selectEdge(`${edgeEl.dataset.from}>${edgeEl.dataset.to}>${edgeEl.dataset.slot}`);
    return;
  }
  if (S.connectFrom) S.connectFrom = null;
  if (S.selected || S.selectedEdge) {
    S.selected = null;
    S.selectedEdge = null;
    panel.render();
  }
  draw();
});

svg.addEventListener("keydown", (evt) => {
  const nodeEl = evt.target.closest("[data-node-id]");
  const edgeEl = evt.target.closest("[data-from]");
  if (evt.key === "Enter" || evt.key === " ") {
    evt.preventDefault();
    evt.stopPropagation();
    if (nodeEl) {
      if (S.connectFrom && S.connectFrom !== nodeEl.dataset.nodeId) {
        const open = openSlots({ nodes: [doc.node(nodeEl.dataset.nodeId)] }, arity)[0];
        const from = S.connectFrom;
        S.connectFrom = null;
        if (open) connect(from, nodeEl.dataset.nodeId, open.slot);
        return;
      }
      select(nodeEl.dataset.nodeId);
    } else if (edgeEl) selectEdge(`${edgeEl.dataset.from}>${edgeEl.dataset.to}>${edgeEl.dataset.slot}`);
  } else if ((evt.key === "e" || evt.key === "F2") && nodeEl) {
    evt.preventDefault();
    editInPlace(nodeEl.dataset.nodeId);
  } else if (evt.key === "c" && nodeEl) {
    S.connectFrom = nodeEl.dataset.nodeId;
    say(t("msg.connectFrom", { id: S.connectFrom }));
    draw();
  }
});

// ---------- step mode ----------

function enterStep() {
  if (!S.result || S.stale) return false;
  S.step = { steps: planSteps(S.result), k: 0, playing: false, timer: null };
  return true;
}

function exitStep(redraw = true) {
  if (!S.step) return;
  clearInterval(S.step.timer);
  S.step = null;
  setPlayButton(false);
  if (redraw) draw();
}

function stepBy(delta) {
  if (!S.step && !enterStep()) return;
  S.step.k = Math.max(0, Math.min(S.step.steps.length, S.step.k + delta));
  if (S.step.k === S.step.steps.length) pause();
  draw();
}

function setPlayButton(playing) {
  const b = $("#step-play");
  b.querySelector("path").setAttribute("d", playing ? "M3.5 2.5h3.2v11H3.5zM9.3 2.5h3.2v11H9.3z" : "M4 2.5v11l9-5.5z");
  b.setAttribute("aria-label", t(playing ? "toolbar.pause" : "toolbar.play"));
  b.setAttribute("aria-pressed", String(playing));
}

function play() {
  if (!S.step && !enterStep()) return;
  if (S.step.k >= S.step.steps.length) S.step.k = 0;
  S.step.playing = true;
  setPlayButton(true);
  clearInterval(S.step.timer);
  S.step.timer = setInterval(() => stepBy(1), S.playDelay || 900);
  stepBy(1);
}

function pause() {
  if (!S.step) return;
  S.step.playing = false;
  clearInterval(S.step.timer);
  setPlayButton(false);
}

function renderStepInfo(st) {
  const box = $("#step-info");
  if (!S.step) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  const { steps, k } = S.step;
  const head = document.createElement("div");
  head.className = "step-head";
  const phase = st.phase ? t(st.phase === "forward" ? "step.forward" : "step.backward") : "";
  head.append(Object.assign(document.createElement("strong"), { textContent: t("step.title", { k, n: steps.length }) }), phase ? ` · ${phase}` : "");
  const bar = document.createElement("progress");
  bar.max = steps.length;
  bar.value = k;
  const body = document.createElement("div");
  body.className = `step-body ${st.phase || ""}`;
  const lines = k === 0 ? [t("step.start")] : explain(st.step, doc.graph, S.result);
  if (k === steps.length) lines.push(t("step.done"));
  for (const line of lines) body.append(Object.assign(document.createElement("code"), { textContent: line }));
  box.dataset.step = String(k);
  box.dataset.steps = String(steps.length);
  $("#step-content").replaceChildren(head, bar, body);
}

// ---------- toolbar ----------

function updateButtons() {
  $("#undo").disabled = !doc.past.length;
  $("#redo").disabled = !doc.future.length;
}

function setZoom(z) {
  if (z === null) {
    S.zoom = null;
    draw();
    return;
  }
  S.zoom = Math.max(0.4, Math.min(2.5, Math.round(z * 10) / 10));
  draw();
}

function currentZoom() {
  return svg.width.baseVal.value / svg.viewBox.baseVal.width || 1;
}

function exprVariables(text) {
  const names = [];
  for (const m of text.matchAll(/[A-Za-z_]\w*/g)) {
    const after = text.slice(m.index + m[0].length).trimStart();
    if (FUNCTIONS.has(m[0]) && after.startsWith("(")) continue;
    if (!names.includes(m[0])) names.push(m[0]);
  }
  return names;
}

function renderExprVars() {
  const box = $("#expr-vars");
  const names = exprVariables($("#expr-input").value);
  const existing = new Map([...box.querySelectorAll("input")].map((i) => [i.dataset.var, i]));
  const keep = new Set(names);
  existing.forEach((input, name) => {
    if (!keep.has(name)) input.closest("label").remove();
  });
  for (const name of names) {
    if (existing.has(name)) continue;
    const label = document.createElement("label");
    label.className = "var";
    const input = document.createElement("input");
    input.type = "text";
    input.dataset.var = name;
    input.size = 4;
    input.spellcheck = false;
    input.value = S.exprValues[name] ?? "";
    input.placeholder = "1";
    input.setAttribute("aria-label", `${name} =`);
    input.addEventListener("input", () => {
      S.exprValues[name] = input.value;
    });
    label.append(Object.assign(document.createElement("span"), { textContent: `${name} =` }), input);
    box.append(label);
  }
}

async function buildExpression() {
  const text = $("#expr-input").value.trim();
  if (!text) return;
  const values = {};
  for (const input of $("#expr-vars").querySelectorAll("input")) {
    input.classList.remove("invalid");
    const s = input.value.trim() || input.placeholder;
    try {
      values[input.dataset.var] = parseValue(s);
    } catch (e) {
      input.classList.add("invalid");
      say(t("error.badValue", { reason: `${input.dataset.var}: ${e.message}` }), "error");
      input.focus();
      return;
    }
  }
  $("#expr-input").classList.remove("invalid");
  S.busy++;
  try {
    const graph = await api.expression(text, values);
    loadGraph(graph, t("msg.expressionBuilt", { n: graph.nodes.length }));
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    const e = err.errors[0] || {};
    const msg = e.message || err.detail;
    const missing = e.variable || /variable\s+['"]?([A-Za-z_]\w*)/i.exec(msg)?.[1];
    const field = missing && $("#expr-vars").querySelector(`[data-var="${CSS.escape(missing)}"]`);
    if (field) {
      field.classList.add("invalid");
      say(t("msg.needValue", { name: missing }), "error");
      field.focus();
      return;
    }
    $("#expr-input").classList.add("invalid");
    say(t("error.expression", { message: e.column && !/column/.test(msg) ? `${msg} (column ${e.column})` : msg }), "error");
    const input = $("#expr-input");
    if (e.column) input.setSelectionRange(e.column - 1, e.column);
    input.focus();
  } finally {
    S.busy--;
  }
}

async function exportPicture(kind) {
  const { text, width, height } = standaloneSvg(svg);
  if (kind === "svg") {
    download("graph.svg", new Blob([text], { type: "image/svg+xml" }));
    say(t("msg.exported", { name: "graph.svg" }));
  } else {
    const png = await svgToPng(text, width, height);
    download("graph.png", png);
    say(t("msg.exported", { name: "graph.png" }));
  }
}

async function exportPython() {
  const g = structuredClone(doc.graph);
  if (g.output == null) {
    const out = effectiveOutput(g, arity);
    if (out) g.output = out;
  }
  try {
    const text = await api.python(g);
    download("graph.py", new Blob([text], { type: "text/x-python" }));
    say(t("msg.exported", { name: "graph.py" }));
  } catch (err) {
    say(t("error.python", { detail: err.detail || err.message }), "error");
  }
}

async function share() {
  const body = $("#share-body");
  body.replaceChildren();
  const row = (labelText, url, id) => {
    const wrap = document.createElement("div");
    wrap.className = "share-row";
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = labelText;
    const input = Object.assign(document.createElement("input"), { id, readOnly: true, value: url, type: "text" });
    const copy = Object.assign(document.createElement("button"), { type: "button", className: "btn", textContent: t("share.copy") });
    copy.addEventListener("click", async () => {
      input.select();
      try {
        await navigator.clipboard.writeText(url);
      } catch {
        /* clipboard refused: the text is selected for a manual copy */
      }
      copy.textContent = t("share.copied");
    });
    const line = document.createElement("div");
    line.className = "share-line";
    line.append(input, copy);
    wrap.append(label, line);
    return wrap;
  };
  try {
    const saved = await api.save(doc.graph);
    const url = new URL(`/?g=${encodeURIComponent(saved.id)}`, location.origin).href;
    body.append(row(t("share.saved"), url, "share-saved"));
  } catch (err) {
    body.append(Object.assign(document.createElement("p"), { className: "note", textContent: t("share.saveFailed", { detail: err.detail || err.message }) }));
  }
  body.append(row(t("share.inline"), hashLink(doc.graph), "share-inline"));
  $("#share-dialog").showModal();
}

function wireToolbar() {
  $("#example-select").addEventListener("change", async (e) => {
    const name = e.target.value;
    if (!name) return;
    S.busy++;
    try {
      const graph = await api.example(name);
      const title = e.target.selectedOptions[0].textContent;
      loadGraph(graph, t("msg.loadedExample", { title }), name);
    } catch (err) {
      say(t("error.examples", { detail: err.detail || err.message }), "error");
    } finally {
      S.busy--;
    }
  });
  $("#expr-input").addEventListener("input", renderExprVars);
  $("#expr-form").addEventListener("submit", (e) => {
    e.preventDefault();
    buildExpression();
  });
  $("#undo").addEventListener("click", () => doc.undo() || say(t("msg.nothing")));
  $("#redo").addEventListener("click", () => doc.redo());
  $("#relayout").addEventListener("click", () => {
    S.layoutCache = null;
    if (!doc.relayout()) draw();
  });
  $("#zoom-in").addEventListener("click", () => setZoom(currentZoom() * 1.25));
  $("#zoom-out").addEventListener("click", () => setZoom(currentZoom() / 1.25));
  $("#zoom-reset").addEventListener("click", () => setZoom(null));
  window.addEventListener("resize", () => S.zoom === null && draw());
  $("#step-forward").addEventListener("click", () => { pause(); stepBy(1); });
  $("#step-back").addEventListener("click", () => { pause(); stepBy(-1); });
  $("#step-play").addEventListener("click", () => (S.step?.playing ? pause() : play()));
  $("#step-exit").addEventListener("click", () => exitStep());
  $("#grad-check").addEventListener("change", (e) => {
    S.check = e.target.checked;
    if (!S.check) S.checkResult = null;
    draw();
    schedule(0);
  });
  $("#import").addEventListener("click", () => $("#import-file").click());
  $("#import-file").addEventListener("change", async (e) => {
    const file = e.target.files[0];
    if (!file) return;
    e.target.value = "";
    let g;
    try {
      g = JSON.parse(await file.text());
    } catch {
      g = null;
    }
    const problem = graphProblem(g);
    if (problem) say(t(problem), "error");
    else loadGraph(g, t("msg.imported", { name: file.name }));
  });
  const menu = $("#export-menu");
  const closeMenu = () => menu.removeAttribute("open");
  $("#export-json").addEventListener("click", () => {
    closeMenu();
    download("graph.json", new Blob([JSON.stringify(doc.graph, null, 2) + "\n"], { type: "application/json" }));
    say(t("msg.exported", { name: "graph.json" }));
  });
  $("#export-svg").addEventListener("click", () => { closeMenu(); exportPicture("svg"); });
  $("#export-png").addEventListener("click", () => { closeMenu(); exportPicture("png"); });
  $("#export-python").addEventListener("click", () => { closeMenu(); exportPython(); });
  document.addEventListener("click", (e) => {
    if (!menu.contains(e.target)) closeMenu();
  });
  $("#share").addEventListener("click", share);
}

function wireKeys() {
  document.addEventListener("keydown", (e) => {
    const typing = e.target.closest("input, textarea, select, [contenteditable]");
    const mod = e.ctrlKey || e.metaKey;
    if (mod && e.key.toLowerCase() === "z" && !typing) {
      e.preventDefault();
      if (e.shiftKey) doc.redo();
      else doc.undo() || say(t("msg.nothing"));
      return;
    }
    if (mod && e.key.toLowerCase() === "y" && !typing) {
      e.preventDefault();
      doc.redo();
      return;
    }
    if (typing || mod || e.altKey) return;
    const inDialog = e.target.closest("dialog");
    if (inDialog) return;
    switch (e.key) {
      case "Delete":
      case "Backspace":
        if (S.selected || S.selectedEdge) {
          e.preventDefault();
          deleteSelection();
        }
        break;
      case "Escape":
        if (S.connectFrom) {
          S.connectFrom = null;
          draw();
        } else if (S.step) exitStep();
        else if (S.selected || S.selectedEdge) {
          S.selected = null;
          S.selectedEdge = null;
          draw();
          panel.render();
        }
        break;
      case "l":
      case "L":
        $("#relayout").click();
        break;
      case "o":
      case "O":
        if (S.selected) ctl.setOutput(S.selected);
        break;
      case "p":
      case "P":
        $("#step-play").click();
        break;
      case "ArrowRight":
        if (S.step || e.target === document.body) { e.preventDefault(); pause(); stepBy(1); }
        break;
      case "ArrowLeft":
        if (S.step) { e.preventDefault(); pause(); stepBy(-1); }
        break;
      case "g":
      case "G":
        $("#grad-check").click();
        break;
      case "+":
      case "=":
        setZoom(currentZoom() * 1.25);
        break;
      case "-":
        setZoom(currentZoom() / 1.25);
        break;
      case "0":
        setZoom(null);
        break;
      default:
    }
  });
}

function buildPalette(opList) {
  const box = $("#palette");
  box.replaceChildren();
  const grouped = Object.fromEntries(Object.keys(GROUPS).map((k) => [k, []]));
  for (const op of opList) {
    const group = Object.keys(GROUPS).find((k) => GROUPS[k].includes(op.name)) || "func";
    grouped[group].push(op);
  }
  for (const [group, ops] of Object.entries(grouped)) {
    if (!ops.length) continue;
    const section = document.createElement("section");
    section.className = "palette-group";
    section.append(Object.assign(document.createElement("h3"), { textContent: t(`palette.group.${group}`) }));
    const grid = document.createElement("div");
    grid.className = "palette-grid";
    for (const op of ops) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "op-button";
      b.dataset.op = op.name;
      b.title = [op.forward, op.description && tOr(`op.${op.name}`, op.description)].filter(Boolean).join("\n");
      b.setAttribute("aria-label", t("palette.add", { op: op.name }));
      b.append(Object.assign(document.createElement("span"), { className: "sym", textContent: op.symbol || op.name }),
        Object.assign(document.createElement("span"), { className: "name", textContent: op.name }));
      b.addEventListener("click", () => addFromPalette(op));
      grid.append(b);
    }
    section.append(grid);
    box.append(section);
  }
}

// ---------- start ----------

async function start() {
  applyI18n();
  wireToolbar();
  wireKeys();
  updateButtons();
  const [opsRes, exRes] = await Promise.allSettled([api.ops(), api.examples()]);
  if (opsRes.status === "fulfilled") {
    S.ops = Object.fromEntries(opsRes.value.ops.map((o) => [o.name, o]));
    buildPalette(opsRes.value.ops);
  } else say(t("error.ops", { detail: opsRes.reason.detail || opsRes.reason.message }), "error");
  if (exRes.status === "fulfilled") {
    const sel = $("#example-select");
    for (const ex of exRes.value.examples) {
      const o = document.createElement("option");
      o.value = ex.name;
      o.textContent = has(`example.${ex.name}`) ? t(`example.${ex.name}`) : ex.title || ex.name;
      if (ex.description) o.title = tOr(`example.${ex.name}.description`, ex.description);
      sel.append(o);
    }
  } else say(t("error.examples", { detail: exRes.reason.detail || exRes.reason.message }), "error");

  const { id, inline } = linkedGraph();
  let example = "";
  let graph = null;
  let message = null;
  if (id) {
    try {
      graph = await api.load(id);
      message = t("msg.loadedShared");
    } catch (err) {
      say(t("error.badLink"), "error");
    }
  }
  if (!graph && inline) {
    if (inline !== "bad" && !graphProblem(inline)) {
      graph = inline;
      message = t("msg.loadedShared");
    } else say(t("error.badLink"), "error");
  }
  if (!graph) {
    graph = loadLocal();
    if (graph) message = t("msg.restored");
  }
  if (!graph) {
    try {
      graph = await api.example("apple");
      example = "apple";
    } catch {
      graph = { nodes: [] };
    }
  }
  loadGraph(graph, message, example);
  doc.past = [];
  updateButtons();
  document.body.dataset.ready = "true";
}

start();

// exposed for the browser tests and for poking around in the console
window.backpropLab = { S, doc, evaluate, fromBase64Url };
