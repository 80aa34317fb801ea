// A live graph inside a lesson: the editor's SVG view (view.js) on a graph
// the engine evaluates after every change, with fields for the leaves, step
// buttons (rules.js), full matrices for chosen nodes, and optionally the
// gradient check or a "one gradient step" button. Several can share a page.
//
// Contract for tests: the figure has [data-view]; data-evaluated counts the
// evaluations drawn; the SVG keeps the editor's [data-from][data-to] edges
// with .edge-value and .edge-grad.

import { api, ApiError, atNode } from "./api.js";
import { compact, fmt, parseValue, valueText } from "./format.js";
import { t } from "./i18n.js";
import { hashLink } from "./io.js";
import { matrix } from "./panel.js";
import { explain, planSteps, stepState } from "./rules.js";
import { edgeLabelSizes, layout, nodeShapes, render } from "./view.js";

const LEAF = new Set(["input", "const"]);
const PARAM = /^[Wb]\d*$/; // what a gradient step updates: the net's weights and biases

function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === "text") e.textContent = v;
    else if (k === "class") e.className = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c != null) e.append(c);
  return e;
}

const ICONS = {
  back: "M3 3h2v10H3zM13 3v10L6 8z",
  forward: "M11 3h2v10h-2zM3 3v10l7-5z",
};

function iconButton(kind, labelId, titleId) {
  const b = h("button", { type: "button", class: "btn icon", "aria-label": t(labelId), title: t(titleId) });
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", ICONS[kind]);
  svg.append(path);
  b.append(svg);
  return b;
}

/** a − lr·g, entry by entry, for numbers and nested lists alike. */
function descend(a, g, lr) {
  return Array.isArray(a) ? a.map((x, i) => descend(x, g[i], lr)) : a - lr * g;
}

export class LiveView {
  /**
   * `spec`: {graph, example, edit, tables, check, sgd} from app/lessons.py;
   * `ops`: the op list by name; `index`: the view's number in its lesson.
   */
  constructor(spec, ops, index, caption) {
    this.spec = spec;
    this.ops = ops;
    this.base = structuredClone(spec.graph);
    this.graph = structuredClone(spec.graph);
    this.result = null;
    this.error = null;
    this.step = null;
    this.hidden = new Map(); // node id -> "grad" | "value": an answer the student has yet to predict
    this.focus = null; // node whose edges are highlighted after a check
    this.layoutCache = null;
    this.seq = 0;
    this.drawn = 0;
    this.timer = null;
    this.sgdLog = [];
    this.build(index, caption);
  }

  leaves() {
    return this.graph.nodes.filter((n) => LEAF.has(n.op));
  }

  node(id) {
    return this.graph.nodes.find((n) => n.id === id);
  }

  build(index, caption) {
    const id = `view-${index}`;
    this.svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    this.svg.setAttribute("class", "lv-graph");
    this.svg.setAttribute("role", "group");
    this.svg.setAttribute("aria-label", t("canvas.label"));
    this.canvas = h("div", { class: "lv-canvas" }, this.svg);
    this.back = iconButton("back", "toolbar.stepBack", "lessons.view.stepBackTitle");
    this.forward = iconButton("forward", "toolbar.stepForward", "lessons.view.stepForwardTitle");
    this.showAll = h("button", { type: "button", class: "btn", text: t("toolbar.stepExit"), title: t("toolbar.stepExitTitle"), hidden: true });
    this.reset = h("button", { type: "button", class: "btn", text: t("lessons.view.reset"), title: t("lessons.view.resetTitle") });
    this.editorLink = h("a", { class: "btn", href: "/", target: "_blank", rel: "noopener", text: t("lessons.view.openEditor"), title: t("lessons.view.openEditorTitle") });
    const legend = h("span", { class: "lv-legend" },
      h("span", { class: "key value" }, h("i"), h("span", { text: t("legend.value") })),
      h("span", { class: "key grad" }, h("i"), h("span", { text: t("legend.grad") })));
    const bar = h("div", { class: "lv-bar" }, legend,
      h("span", { class: "lv-tools", role: "group", "aria-label": t("lessons.view.tools") },
        h("span", { class: "lv-steps" }, this.back, this.forward, this.showAll), this.reset, this.editorLink));
    this.stepBox = h("div", { class: "lv-step", hidden: true, "aria-live": "polite" });
    this.inputs = h("div", { class: "lv-inputs" });
    this.extra = h("div", { class: "lv-extra" });
    this.tables = h("div", { class: "lv-tables" });
    this.msg = h("p", { class: "lv-msg", role: "status" });
    this.caption = h("figcaption", { class: "lv-caption" });
    if (caption) this.caption.append(caption);
    this.root = h("figure", { class: "lv", id, "data-view": String(index) },
      bar, this.canvas, this.stepBox, this.inputs, this.extra, this.msg, this.tables, this.caption);

    this.back.addEventListener("click", () => this.stepBy(-1));
    this.forward.addEventListener("click", () => this.stepBy(1));
    this.showAll.addEventListener("click", () => this.exitStep());
    this.reset.addEventListener("click", () => this.resetGraph());
    this.buildInputs();
    if (this.spec.sgd) this.buildSgd();
    this.resizeObserver = new ResizeObserver(() => this.result && this.draw());
    this.resizeObserver.observe(this.canvas);
  }

  buildInputs() {
    const editable = this.spec.edit ? new Set(this.spec.edit) : null;
    this.inputs.replaceChildren();
    for (const n of this.leaves()) {
      if (editable && !editable.has(n.id)) continue;
      const fid = `${this.root.id}-in-${n.id}`;
      const text = valueText(n.value);
      const multi = Array.isArray(n.value);
      const field = multi
        ? h("textarea", { id: fid, rows: String(Math.min(4, text.split("\n").length)), spellcheck: "false", "data-leaf": n.id })
        : h("input", { id: fid, type: "text", inputmode: "decimal", spellcheck: "false", "data-leaf": n.id, size: "7" });
      field.value = text;
      field.addEventListener("input", () => this.edit(n.id, field));
      this.inputs.append(h("label", { class: "lv-field" + (multi ? " wide" : ""), for: fid }, h("span", { class: "lv-name", text: `${n.label || n.id} =` }), field));
    }
    this.inputs.hidden = !this.inputs.children.length;
  }

  buildSgd() {
    const button = h("button", { type: "button", class: "btn primary", text: t("lessons.view.sgd", { lr: this.spec.sgd }), "data-sgd": "" });
    this.sgdInfo = h("span", { class: "lv-sgd-log", "aria-live": "polite" });
    button.addEventListener("click", () => this.gradientStep());
    this.extra.append(button, this.sgdInfo);
  }

  edit(id, field) {
    let value;
    try {
      value = parseValue(field.value);
    } catch (e) {
      field.classList.add("invalid");
      field.title = t("error.badValue", { reason: e.message });
      return;
    }
    field.classList.remove("invalid");
    field.title = "";
    this.node(id).value = value;
    this.changed(120);
  }

  /** The lesson's own graph with a question's change applied, so the graph shows exactly the answer's case. */
  showCase(values) {
    this.graph = structuredClone(this.base);
    this.buildInputs();
    return this.setValues(values);
  }

  /** Put new values into leaves, fields included. */
  setValues(values) {
    for (const [id, v] of Object.entries(values)) {
      const n = this.node(id);
      if (!n) continue;
      n.value = structuredClone(v);
      const f = this.inputs.querySelector(`[data-leaf="${CSS.escape(id)}"]`);
      if (f) {
        f.value = valueText(v);
        f.classList.remove("invalid");
      }
    }
    return this.changed(0);
  }

  resetGraph() {
    this.graph = structuredClone(this.base);
    this.sgdLog = [];
    if (this.sgdInfo) this.sgdInfo.textContent = "";
    this.focus = null;
    this.buildInputs();
    this.changed(0);
  }

  changed(delay) {
    this.exitStep(false);
    clearTimeout(this.timer);
    this.root.dataset.pending = "true";
    return new Promise((resolve) => {
      this.timer = setTimeout(() => this.evaluate().then(resolve), delay);
    });
  }

  async evaluate() {
    const seq = ++this.seq;
    this.root.dataset.pending = "true";
    try {
      const result = await api.evaluate(this.graph, { check: !!this.spec.check });
      if (seq !== this.seq) return;
      this.result = result;
      this.error = null;
      this.errors = new Map();
    } catch (err) {
      if (seq !== this.seq) return;
      // the nodes the API names carry its message in the drawing, as in the editor
      this.errors = new Map();
      for (const e of err instanceof ApiError ? err.errors : []) {
        const n = e.node && this.node(e.node);
        if (n) this.errors.set(n.id, atNode(e.message || err.detail, n.id, n.op));
      }
      this.error = err instanceof ApiError && err.status !== 0
        ? `${t("error.title")} ${(err.errors.map((e) => e.message).filter(Boolean).join("; ")) || err.detail}`
        : t("error.network");
    }
    this.editorLink.href = hashLink(this.graph);
    this.draw();
    this.renderTables();
    this.renderCheckSummary();
    this.msg.textContent = this.error || "";
    this.root.classList.toggle("stale", !!this.error); // numbers from the last graph that evaluated
    this.msg.dataset.kind = this.error ? "error" : "";
    this.root.dataset.evaluated = String(++this.drawn);
    delete this.root.dataset.pending;
  }

  async gradientStep() {
    if (!this.result || this.error) return;
    const out = this.result.output;
    const before = this.result.nodes[out].value;
    for (const n of this.leaves()) {
      const g = this.result.nodes[n.id]?.grad;
      if (PARAM.test(n.id) && g != null) n.value = descend(n.value, g, this.spec.sgd);
    }
    await this.changed(0);
    const after = this.result?.nodes?.[out]?.value;
    this.sgdLog.push(after);
    this.sgdInfo.textContent = t("lessons.view.sgdLog", { n: this.sgdLog.length, before: fmt(before), after: fmt(after) });
    this.root.dataset.steps = String(this.sgdLog.length);
  }

  // ---------- step mode ----------

  stepBy(d) {
    if (!this.result || this.error) return;
    if (!this.step) this.step = { steps: planSteps(this.result), k: 0 };
    this.step.k = Math.max(0, Math.min(this.step.steps.length, this.step.k + d));
    this.showAll.hidden = false;
    this.draw();
  }

  exitStep(redraw = true) {
    if (!this.step) return;
    this.step = null;
    this.showAll.hidden = true;
    if (redraw) this.draw();
  }

  renderStep(st) {
    if (!this.step) {
      this.stepBox.hidden = true;
      return;
    }
    const { steps, k } = this.step;
    let lines = k === 0 ? [t("step.start")] : explain(st.step, this.graph, this.result);
    for (const [id, kind] of this.hidden) {
      if (kind === "grad") lines = lines.map((line) => (line.startsWith(`d${id} `) ? `d${id} = ?` : line));
      else lines = lines.map((line) => (line.startsWith(`${id} = `) ? `${id} = ?` : line));
    }
    if (k === steps.length) lines.push(t("step.done"));
    const phase = st.phase ? ` · ${t(st.phase === "forward" ? "step.forward" : "step.backward")}` : "";
    this.stepBox.replaceChildren(
      h("div", { class: "step-head" }, h("strong", { text: t("step.title", { k, n: steps.length }) }), phase),
      h("div", { class: `step-body ${st.phase || ""}` }, lines.map((line) => h("code", { text: line }))));
    this.stepBox.hidden = false;
    this.root.dataset.step = String(k);
  }

  // ---------- drawing ----------

  /** What is visible: the step state, minus any answer still to be predicted. */
  visibility() {
    const r = this.result;
    let st = this.step ? stepState(this.step.steps, this.step.k, r) : null;
    if (!this.hidden.size) return st;
    if (!st) {
      st = { values: new Set(Object.keys(r.nodes)), grads: new Set(["seed", ...r.edges.map((e) => `${e.from}>${e.to}>${e.slot}`)]), current: null, phase: null, step: null };
    }
    for (const [id, kind] of this.hidden) {
      if (kind === "value") st.values.delete(id);
      else {
        for (const e of r.edges) if (e.from === id) st.grads.delete(`${e.from}>${e.to}>${e.slot}`);
        if (r.output === id) st.grads.delete("seed");
      }
    }
    return st;
  }

  draw() {
    const graph = this.graph;
    const entries = this.spec.entries ?? 3;
    const shapes = nodeShapes(graph, this.ops, this.result, entries);
    const sizes = edgeLabelSizes(graph, this.result, entries);
    const sig = JSON.stringify(graph.nodes.map((n) => [n.id, n.inputs, Math.ceil(shapes[n.id].w / 24), shapes[n.id].h]))
      + JSON.stringify(Object.values(sizes).map((s) => s.w));
    if (this.layoutCache?.sig !== sig) this.layoutCache = { sig, ...layout(graph, shapes, sizes) };
    const st = this.result ? this.visibility() : null;
    const warnings = new Map((this.result?.warnings || []).filter((w) => w.node).map((w) => [w.node, atNode(w.message, w.node, this.node(w.node)?.op)]));
    render(this.svg, {
      graph, ops: this.ops, result: this.result, shapes, pos: this.layoutCache.pos, labels: this.layoutCache.labels,
      ui: {
        selected: null, selectedEdge: null, errors: this.errors || new Map(), warnings, pending: new Set(), step: st,
        check: this.spec.check ? this.result?.check : null, connectFrom: null,
        output: this.result?.output ?? graph.output, stale: !!this.error, zoom: 1, fit: null, entries,
      },
    });
    this.shortenChecks();
    // nothing here is clicked or rewired: no tab stops, the numbers read as text
    this.svg.querySelectorAll("[tabindex]").forEach((e) => {
      e.removeAttribute("tabindex");
      e.removeAttribute("role");
    });
    this.fit();
    this.markHidden();
    this.markFocus();
    this.renderStep(st);
    const stepping = !!this.step;
    this.back.disabled = !stepping || this.step.k === 0;
    this.forward.disabled = !this.result || (stepping && this.step.k === this.step.steps.length);
  }

  /** Scale to the column: small graphs up to 1.2×, wide ones down to 0.72× (0.6× on a phone), then the canvas scrolls. */
  fit() {
    const vb = this.svg.viewBox.baseVal;
    if (!vb || !vb.width) return;
    const room = this.canvas.clientWidth - 16;
    const floor = room < 600 ? 0.6 : 0.72; // a phone sees the whole of the book's small graphs
    const zoom = room > 0 ? Math.max(floor, Math.min(1.2, room / vb.width, 380 / vb.height)) : 1;
    this.svg.setAttribute("width", Math.round(vb.width * zoom));
    this.svg.setAttribute("height", Math.round(vb.height * zoom));
  }

  /** Under each leaf only ✓ or ✗ (the numbers stay in its tooltip and in the table below). */
  shortenChecks() {
    this.svg.querySelectorAll(".node > text.check").forEach((e) => {
      const title = e.querySelector("title");
      e.textContent = e.classList.contains("bad") ? "✗" : "✓";
      if (title) e.append(title);
    });
  }

  markHidden() {
    for (const [id, kind] of this.hidden) {
      const title = this.svg.querySelector(`[data-node-id="${CSS.escape(id)}"] > title`);
      if (title) title.textContent = id; // the tooltip would give the answer away
      const cls = kind === "value" ? ".edge-value" : ".edge-grad";
      this.svg.querySelectorAll(`[data-from="${CSS.escape(id)}"] ${cls}`).forEach((e) => {
        e.textContent = "?";
        e.classList.add("hidden-answer");
      });
    }
  }

  markFocus() {
    if (!this.focus) return;
    this.svg.querySelectorAll(`[data-from="${CSS.escape(this.focus)}"]`).forEach((e) => e.classList.add("focus"));
    this.svg.querySelector(`[data-node-id="${CSS.escape(this.focus)}"]`)?.classList.add("focus");
  }

  renderTables() {
    const ids = this.spec.tables || [];
    this.tables.replaceChildren();
    if (!this.result) return;
    for (const id of ids) {
      const r = this.result.nodes[id];
      if (!r) continue;
      const node = this.node(id);
      const hiddenGrad = this.hidden.get(id) === "grad";
      this.tables.append(h("div", { class: "lv-table", "data-table": id },
        h("div", { class: "lv-table-name", text: node?.label ? `${id} (${node.label})` : id }),
        h("div", { class: "lv-table-row" },
          h("div", {}, h("div", { class: "lv-table-kind value-title", text: t("legend.value") }), matrix(r.value, "value")),
          h("div", {}, h("div", { class: "lv-table-kind grad-title", text: `${t("legend.grad")} ∂L/∂${id}` }),
            hiddenGrad ? h("div", { class: "scalar grad hidden-answer", text: "?" }) : r.grad == null ? h("p", { class: "muted", text: t("edge.noGrad") }) : matrix(r.grad, "grad")))));
    }
  }

  renderCheckSummary() {
    this.extra.querySelector(".lv-check-box")?.remove();
    const check = this.spec.check && this.result?.check;
    if (!check) return;
    const entries = Object.entries(check);
    const bad = entries.filter(([, c]) => !c.ok).map(([id]) => id);
    const worst = Math.max(...entries.map(([, c]) => c.max_rel_error ?? 0));
    const text = bad.length
      ? t("lessons.view.checkBad", { ids: bad.join(", "), err: fmt(worst) })
      : t("lessons.view.checkGood", { n: entries.length, err: fmt(worst) });
    const secret = (id) => this.hidden.get(id) === "grad"; // both columns would give the answer away
    const cell = (id, v, cls) => h("td", { class: cls, title: secret(id) ? null : JSON.stringify(v), text: secret(id) ? "?" : compact(v, 3) });
    const rows = entries.map(([id, c]) => h("tr", { class: c.ok ? "good" : "bad" },
      h("th", { text: id }),
      cell(id, c.backprop, "grad"),
      cell(id, c.numerical, null),
      h("td", { text: fmt(c.max_rel_error) }),
      h("td", { class: "mark", text: c.ok ? "✓" : "✗" })));
    const table = h("table", { class: "lv-check-table" },
      h("thead", {}, h("tr", {}, h("th", { text: "" }), h("th", { text: t("panel.checkBackprop") }), h("th", { text: t("panel.checkNumerical") }), h("th", { text: t("panel.checkError") }), h("th", { text: "" }))),
      h("tbody", {}, rows));
    this.extra.prepend(h("div", { class: "lv-check-box" },
      h("p", { class: `lv-check ${bad.length ? "bad" : "good"}`, "data-check": bad.length ? "bad" : "good", text }), table));
  }

  /** Hide one number until the student has predicted it. */
  hide(id, kind) {
    this.hidden.set(id, kind);
    if (this.result) this.redraw();
  }

  redraw() {
    this.draw();
    this.renderTables();
    this.renderCheckSummary();
  }

  reveal(focus) {
    this.hidden.clear();
    this.focus = focus || null;
    if (this.result) this.redraw();
  }
}
