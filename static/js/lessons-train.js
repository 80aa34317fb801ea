// A small live training run inside a lesson: one button starts it through
// the runs API, the event stream feeds two little SVG charts (the loss of
// every mini-batch, the accuracies at every evaluation) and a table whose
// numbers tests can read. Nothing starts on its own.

import { fmt } from "./format.js";
import { t } from "./i18n.js";

const SVG = "http://www.w3.org/2000/svg";
const W = 520, H = 170, PAD = { l: 40, r: 12, t: 12, b: 26 };

function el(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text != null) e.textContent = text;
  return e;
}

function h(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

const pct = (x) => `${(100 * x).toFixed(1)}%`;

/** A line chart: `series` [{points: [[x, y]], cls, dots}], axes from 0..xMax and yMin..yMax. */
function chart(svg, series, { xMax, yMin, yMax, yTicks, yFormat }) {
  svg.replaceChildren();
  const x = (v) => PAD.l + (v / xMax) * (W - PAD.l - PAD.r);
  const y = (v) => H - PAD.b - ((v - yMin) / (yMax - yMin)) * (H - PAD.t - PAD.b);
  for (const v of yTicks) {
    svg.append(el("line", { class: "grid", x1: PAD.l, x2: W - PAD.r, y1: y(v), y2: y(v) }));
    svg.append(el("text", { class: "tick", x: PAD.l - 6, y: y(v) + 4, "text-anchor": "end" }, yFormat(v)));
  }
  for (const v of [0, xMax / 2, xMax]) {
    svg.append(el("text", { class: "tick", x: x(v), y: H - 8, "text-anchor": "middle" }, String(Math.round(v))));
  }
  for (const s of series) {
    if (!s.points.length) continue;
    const d = s.points.map(([a, b], i) => `${i ? "L" : "M"}${x(a).toFixed(1)},${y(Math.min(yMax, Math.max(yMin, b))).toFixed(1)}`).join("");
    svg.append(el("path", { class: `line ${s.cls}`, d }));
    if (s.dots) for (const [a, b] of s.points) svg.append(el("circle", { class: `dot ${s.cls}`, cx: x(a), cy: y(b), r: 3 }));
  }
}

export class TrainDemo {
  constructor(config) {
    this.config = config;
    this.losses = [];
    this.epochs = [];
    this.run = null;
    this.source = null;
    this.root = h("section", "train-demo");
    this.root.id = "train-demo";
    const c = config;
    const summary = h("p", "train-config", t("lessons.train.config", {
      iterations: c.iterations, batch: c.batch_size, images: c.train_limit.toLocaleString("en"), test: c.test_limit.toLocaleString("en"), lr: c.learning_rate,
    }));
    this.start = h("button", "btn primary", t("lessons.train.start"));
    this.start.type = "button";
    this.start.id = "train-start";
    this.stop = h("button", "btn", t("lessons.train.stop"));
    this.stop.type = "button";
    this.stop.disabled = true;
    this.status = h("span", "train-status");
    this.status.setAttribute("role", "status");
    const buttons = h("div", "train-buttons");
    buttons.append(this.start, this.stop, this.status);
    this.lossSvg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "train-chart", role: "img", "aria-label": t("lessons.train.lossChart") });
    this.accSvg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "train-chart", role: "img", "aria-label": t("lessons.train.accChart") });
    const lossFig = h("figure", "train-figure");
    lossFig.append(h("figcaption", "", t("lessons.train.lossTitle")), this.lossSvg);
    const accFig = h("figure", "train-figure");
    const key = h("figcaption", "");
    key.append(t("lessons.train.accTitle"), " ", h("span", "key train", t("lessons.train.trainAcc")), " ", h("span", "key test", t("lessons.train.testAcc")));
    accFig.append(key, this.accSvg);
    const charts = h("div", "train-charts");
    charts.append(lossFig, accFig);
    this.table = h("table", "train-table");
    const head = h("tr");
    for (const k of ["iteration", "epoch", "trainCol", "testCol"]) head.append(h("th", "", t(`lessons.train.${k}`)));
    this.tbody = h("tbody");
    const thead = h("thead");
    thead.append(head);
    this.table.append(thead, this.tbody);
    this.table.hidden = true;
    this.root.append(summary, buttons, charts, this.table);
    this.start.addEventListener("click", () => this.begin());
    this.stop.addEventListener("click", () => this.halt());
    this.draw();
  }

  say(text, kind = "") {
    this.status.textContent = text;
    this.status.dataset.kind = kind;
  }

  async begin() {
    this.losses = [];
    this.epochs = [];
    this.tbody.replaceChildren();
    this.table.hidden = true;
    this.draw();
    this.start.disabled = true;
    this.root.dataset.state = "starting";
    this.say(t("lessons.train.starting"));
    let res;
    try {
      res = await fetch("/api/runs", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(this.config) });
    } catch {
      this.fail(t("error.network"));
      return;
    }
    const data = await res.json().catch(() => ({}));
    if (!res.ok) {
      this.fail(res.status === 429 ? t("lessons.train.busy") : t("lessons.train.failed", { detail: data.detail || res.status }));
      return;
    }
    this.run = data;
    this.root.dataset.run = data.id;
    this.stop.disabled = false;
    this.say(data.status === "queued" ? t("lessons.train.queued", { position: data.position }) : t("lessons.train.running"));
    this.follow(data.events);
  }

  follow(url) {
    this.source?.close();
    const es = new EventSource(url);
    this.source = es;
    const on = (kind, fn) => es.addEventListener(kind, (e) => fn(JSON.parse(e.data)));
    on("status", (d) => {
      this.root.dataset.state = d.status;
      this.say(d.status === "queued" ? t("lessons.train.queued", { position: d.position }) : t("lessons.train.running"));
    });
    on("loss", (d) => {
      d.values.forEach((v, i) => { this.losses[d.start + i] = v; });
      this.say(t("lessons.train.progress", { done: this.losses.length, total: this.config.iterations, loss: fmt(this.losses.at(-1)) }));
      this.draw();
    });
    on("epoch", (d) => {
      this.epochs.push(d);
      const row = h("tr");
      row.dataset.iteration = String(d.iteration);
      row.append(h("td", "", String(d.iteration)), h("td", "", fmt(d.epoch)), h("td", "acc train", pct(d.train_acc)), h("td", "acc test", pct(d.test_acc)));
      this.tbody.append(row);
      this.table.hidden = false;
      this.draw();
    });
    for (const end of ["done", "stopped", "failed", "interrupted"]) {
      on(end, (d) => {
        es.close(); // the server ends the stream after this; without close() the browser would reconnect
        this.finish(end, d);
      });
    }
  }

  finish(status, d) {
    this.root.dataset.state = status;
    this.start.disabled = false;
    this.stop.disabled = true;
    if (status === "done") {
      this.say(t("lessons.train.done", { seconds: fmt(d.seconds), train: pct(d.train_acc), test: pct(d.test_acc) }), "ok");
    } else if (status === "stopped") this.say(t("lessons.train.stopped"));
    else this.say(t("lessons.train.failed", { detail: d.error || d.reason || status }), "error");
  }

  fail(text) {
    this.root.dataset.state = "failed";
    this.start.disabled = false;
    this.stop.disabled = true;
    this.say(text, "error");
  }

  async halt() {
    if (!this.run) return;
    this.stop.disabled = true;
    try {
      await fetch(`/api/runs/${encodeURIComponent(this.run.id)}/stop`, { method: "POST", headers: { Authorization: `Bearer ${this.run.token}` } });
    } catch {
      this.say(t("error.network"), "error");
    }
  }

  draw() {
    const n = this.config.iterations;
    const maxLoss = Math.max(2.5, ...this.losses.filter(Number.isFinite));
    chart(this.lossSvg, [{ points: this.losses.map((v, i) => [i + 1, v]), cls: "loss" }],
      { xMax: n, yMin: 0, yMax: Math.ceil(maxLoss), yTicks: [0, 1, 2, Math.ceil(maxLoss)].filter((v, i, a) => a.indexOf(v) === i), yFormat: String });
    chart(this.accSvg, [
      { points: this.epochs.map((e) => [e.iteration, e.train_acc]), cls: "train", dots: true },
      { points: this.epochs.map((e) => [e.iteration, e.test_acc]), cls: "test", dots: true },
    ], { xMax: n, yMin: 0, yMax: 1, yTicks: [0, 0.5, 1], yFormat: (v) => `${v * 100}%` });
    this.root.dataset.losses = String(this.losses.length);
    this.root.dataset.epochs = String(this.epochs.length);
  }
}
