// The panels around the net: class probabilities, W1's columns as images, the confusion
// matrix, the gallery of mistakes and the gradient check. Figures drawn on canvases are
// mirrored in data-* attributes so tests (and screen readers, via labels) can read them.

import { fmt } from "./format.js";
import { t } from "./i18n.js";
import { paint, SIZE } from "./preprocess.js";

const $ = (s) => document.querySelector(s);

export function bytes(b64) {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === "class") e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

// ---- probabilities ----

export function showProbabilities(res, trueLabel) {
  const box = $("#probs");
  const probs = res.probabilities;
  box.dataset.predicted = String(res.predicted);
  box.dataset.label = String(res.label);
  box.replaceChildren(...probs.map((p, d) => {
    const bar = h("div", { class: "bar" });
    bar.style.height = `${Math.max(0.5, p * 100).toFixed(1)}%`;
    const cls = ["prob", d === res.predicted ? "top" : "", d === res.label ? "target" : ""].filter(Boolean).join(" ");
    return h("div", { class: cls, role: "listitem", "data-digit": d, "data-p": String(p), title: `${d}: ${p}`,
      "aria-label": t("net.probItem", { digit: d, p: (p * 100).toFixed(1) }) },
    h("span", { class: "p" }, p >= 0.995 ? "1" : p < 0.005 ? "0" : p.toFixed(2).replace(/^0/, "")),
    h("div", { class: "bar-box" }, bar),
    h("span", { class: "d" }, String(d)));
  }));
  $("#predicted").textContent = String(res.predicted);
  $("#verdict").classList.toggle("wrong", trueLabel != null && trueLabel !== res.predicted);
  $("#verdict").dataset.predicted = String(res.predicted);
  $("#loss-text").textContent = t("net.lossFor", { label: res.label, loss: fmt(res.loss) });
}

export function clearProbabilities() {
  $("#probs").replaceChildren();
  delete $("#probs").dataset.predicted;
  $("#predicted").textContent = "–";
  $("#loss-text").textContent = "";
  $("#verdict").classList.remove("wrong");
}

// ---- W1 ----

const NEG = [33, 102, 172], MID = [247, 247, 247], POS = [178, 24, 43];
const mix = (a, b, k) => a.map((x, i) => Math.round(x + (b[i] - x) * k));

/** Draw every hidden unit's weights as a tile; colour by sign, scaled per unit by its largest |w|. */
export class W1Grid {
  constructor(canvas) {
    this.canvas = canvas;
    this.data = null;
    canvas.addEventListener("mousemove", (e) => this.hover(e));
    canvas.addEventListener("mouseleave", () => ($("#w1-hover").textContent = ""));
  }

  layout(units) {
    const cols = units <= 10 ? units : units <= 100 ? 10 : Math.ceil(Math.sqrt(units * 1.6));
    return { cols, rows: Math.ceil(units / cols), cell: SIZE + 2 };
  }

  show(w) {
    this.data = w;
    const px = bytes(w.data);
    const { cols, rows, cell } = this.layout(w.units);
    const c = this.canvas;
    c.width = cols * cell - 2;
    c.height = rows * cell - 2;
    const ctx = c.getContext("2d");
    const img = ctx.createImageData(c.width, c.height);
    const n = SIZE * SIZE;
    for (let u = 0; u < w.units; u++) {
      const lo = w.min[u], hi = w.max[u];
      const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
      const ox = (u % cols) * cell, oy = Math.floor(u / cols) * cell;
      for (let i = 0; i < n; i++) {
        const v = (lo + (px[u * n + i] / 255) * (hi - lo)) / m; // back to a weight, then to [-1, 1]
        const rgb = v < 0 ? mix(MID, NEG, -v) : mix(MID, POS, v);
        const o = 4 * ((oy + Math.floor(i / SIZE)) * c.width + ox + (i % SIZE));
        img.data[o] = rgb[0];
        img.data[o + 1] = rgb[1];
        img.data[o + 2] = rgb[2];
        img.data[o + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
    c.dataset.units = String(w.units);
    c.dataset.iteration = String(w.iteration);
    c.setAttribute("aria-label", t("net.w1.aria", { units: w.units }));
  }

  hover(e) {
    if (!this.data) return;
    const r = this.canvas.getBoundingClientRect();
    const { cols, cell } = this.layout(this.data.units);
    const x = ((e.clientX - r.left) / r.width) * this.canvas.width;
    const y = ((e.clientY - r.top) / r.height) * this.canvas.height;
    const u = Math.floor(y / cell) * cols + Math.floor(x / cell);
    $("#w1-hover").textContent = u < this.data.units
      ? t("net.w1.unit", { unit: u, min: fmt(this.data.min[u]), max: fmt(this.data.max[u]) }) : "";
  }

  clear() {
    this.data = null;
    this.canvas.width = this.canvas.height = 10;
    delete this.canvas.dataset.units;
  }
}

// ---- confusion matrix and mistakes ----

export class Mistakes {
  /** onPick(pixels784, label, index): a gallery image becomes the net's input. */
  constructor({ onPick }) {
    this.onPick = onPick;
    this.result = null;
    this.filter = null;
    $("#gallery-all").addEventListener("click", () => this.setFilter(null));
  }

  show(res) {
    this.result = res;
    if (this.filter && !res.confusion[this.filter[0]][this.filter[1]]) this.filter = null;
    this.table();
    this.gallery();
  }

  table() {
    const res = this.result;
    const m = res.confusion;
    const k = m.length;
    let off = 0;
    m.forEach((row, i) => row.forEach((v, j) => i !== j && v > off && (off = v)));
    const rowMax = m.map((row) => Math.max(1, row.reduce((a, b) => a + b, 0)));
    const table = $("#confusion");
    table.dataset.total = String(m.flat().reduce((a, b) => a + b, 0));
    table.dataset.count = String(res.count);
    const head = h("tr", {}, h("th", { class: "axis", scope: "col" }, t("net.cm.corner")), ...res.classes.map((c) => h("th", { scope: "col" }, c.length > 2 ? c.slice(0, 2) : c)));
    const rows = m.map((row, i) => h("tr", {}, h("th", { scope: "row", title: res.classes[i] }, res.classes[i].length > 2 ? res.classes[i].slice(0, 2) : res.classes[i]),
      ...row.map((v, j) => {
        const diag = i === j;
        const k2 = diag ? v / rowMax[i] : off ? v / off : 0;
        const td = h("td", {
          class: [diag ? "diag" : "", v === 0 ? "zero" : ""].filter(Boolean).join(" "),
          "data-true": i, "data-pred": j, "data-count": v,
          title: t("net.cm.cell", { count: v, t: res.classes[i], p: res.classes[j] }),
        }, String(v));
        if (v > 0) {
          td.style.background = diag ? `color-mix(in srgb, var(--ok) ${Math.round(12 + 40 * k2)}%, transparent)`
            : `color-mix(in srgb, var(--error) ${Math.round(10 + 60 * k2)}%, transparent)`;
        }
        if (!diag && v > 0) {
          td.tabIndex = 0;
          td.setAttribute("role", "button");
          td.setAttribute("aria-pressed", String(!!this.filter && this.filter[0] === i && this.filter[1] === j));
          const act = () => this.setFilter(this.filter && this.filter[0] === i && this.filter[1] === j ? null : [i, j]);
          td.addEventListener("click", act);
          td.addEventListener("keydown", (e) => {
            if (e.key === "Enter" || e.key === " ") {
              e.preventDefault();
              act();
            }
          });
        }
        return td;
      })));
    table.replaceChildren(h("caption", { class: "visually-hidden" }, t("net.cm.title")), h("thead", {}, head), h("tbody", {}, ...rows));
    $("#cm-acc").replaceChildren(t("net.cm.accuracy", { correct: res.correct.toLocaleString("en-US"), count: res.count.toLocaleString("en-US") }) + " ",
      h("strong", {}, `${(res.accuracy * 100).toFixed(2)}%`));
  }

  setFilter(f) {
    const focusKey = document.activeElement?.dataset?.true != null ? [document.activeElement.dataset.true, document.activeElement.dataset.pred] : null;
    this.filter = f;
    this.table();
    this.gallery();
    if (focusKey) $(`#confusion td[data-true="${focusKey[0]}"][data-pred="${focusKey[1]}"]`)?.focus();
  }

  gallery() {
    const res = this.result;
    const items = res.misclassified.items.filter((x) => !this.filter || (x.label === this.filter[0] && x.predicted === this.filter[1]));
    const shown = this.filter ? items : items.slice(0, 48);
    const box = $("#gallery");
    box.dataset.count = String(shown.length);
    box.replaceChildren(...shown.map((x) => {
      const canvas = h("canvas", { width: SIZE, height: SIZE });
      const px = bytes(x.image);
      paint(canvas, px, 255);
      const b = h("button", { type: "button", "data-index": x.index, "data-label": x.label, "data-predicted": x.predicted,
        title: t("net.gallery.item", { index: x.index, label: x.label, predicted: x.predicted, p: (x.confidence * 100).toFixed(0) }) },
      canvas,
      h("span", { class: "cap" }, h("span", { class: "t" }, res.classes[x.label].slice(0, 3)), "→", h("span", { class: "p" }, res.classes[x.predicted].slice(0, 3))),
      h("span", { class: "conf" }, `${(x.confidence * 100).toFixed(0)}%`));
      b.addEventListener("click", () => this.onPick(Array.from(px, (v) => v / 255), x.label, x.index));
      return b;
    }));
    const total = res.misclassified.total;
    $("#gallery-all").hidden = !this.filter;
    $("#gallery-note").textContent = total === 0 ? t("net.gallery.none")
      : this.filter ? t("net.gallery.filtered", { n: items.length, t: res.classes[this.filter[0]], p: res.classes[this.filter[1]] })
        : t("net.gallery.note", { shown: shown.length, total: total.toLocaleString("en-US") });
  }

  clear() {
    this.result = null;
    $("#confusion").replaceChildren();
    $("#gallery").replaceChildren();
    $("#cm-acc").textContent = "";
    $("#gallery-note").textContent = "";
  }
}

// ---- gradient check ----

const PARAMS = ["W1", "b1", "W2", "b2"];

export function showGradCheck(box, r) {
  const sci = (x) => (x === 0 ? "0" : x.toExponential(1).replace("e-", "e−"));
  const rows = PARAMS.map((p) => h("tr", { "data-param": p },
    h("th", { scope: "row" }, p),
    h("td", { class: r.diffs[p] < 1e-6 ? "good" : "bad", "data-diff": r.diffs[p] }, sci(r.diffs[p])),
    h("td", { class: r.diffs_without_kinks[p] < 1e-6 ? "good" : "bad" }, sci(r.diffs_without_kinks[p]))));
  const table = h("table", { class: "gc-table" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("net.gc.param")), h("th", { scope: "col" }, t("net.gc.diff")), h("th", { scope: "col" }, t("net.gc.clean2")))),
    h("tbody", {}, ...rows));
  const times = h("div", { class: "gc-times" },
    h("div", {}, t("net.gc.backprop"), h("strong", { "data-seconds": r.backprop_seconds }, `${fmt(r.backprop_seconds * 1000)} ms`)),
    h("div", {}, t("net.gc.numerical"), h("strong", { "data-seconds": r.numerical_seconds }, `${fmt(r.numerical_seconds)} s`)),
    h("div", {}, t("net.gc.speedup"), h("strong", {}, `${Math.round(r.speedup).toLocaleString("en-US")}×`)));
  const kink = r.kink.units.length
    ? t("net.gc.kinks", { n: r.kink.units.length, units: r.kink.units.join(", "), w1: r.kink.entries.W1, b1: r.kink.entries.b1 })
    : t("net.gc.noKinks", { nearest: r.kink.nearest.toExponential(1) });
  const verdict = h("p", { class: `acc-line ${r.passed ? "good" : "bad"}` }, h("strong", {}, r.passed ? t("net.gc.passed") : t("net.gc.failed")), " ", kink);
  const explain = h("details", {}, h("summary", {}, t("net.gc.why")), h("p", { class: "gc-explain", lang: "en" }, r.explanation));
  box.dataset.passed = String(r.passed);
  box.replaceChildren(verdict, table, times, explain);
}
