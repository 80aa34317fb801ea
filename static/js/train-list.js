// Every run in a table (newest first): status, configuration, final accuracy; pick one to
// watch, tick several to overlay their curves, delete your own.

import { align, LineChart, smooth } from "./charts.js";
import { t } from "./i18n.js";
import { ACTIVE, configSummary, FINAL, forgetToken, hasToken, pct, runsApi } from "./train-api.js";
import { statusText } from "./train-view.js";

const $ = (s) => document.querySelector(s);
const PAGE = 50;

function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("data-") || k.startsWith("aria-") || k === "role" || k === "title" || k === "type") e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

function when(seconds) {
  const d = new Date(seconds * 1000);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" })
    : d.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

export class RunsList {
  constructor({ onSelect, onCompare }) {
    this.onSelect = onSelect;
    this.onCompare = onCompare;
    this.runs = [];
    this.total = 0;
    this.limit = PAGE;
    this.current = null;
    this.selected = new Set();
    this.confirming = null;
    this.timer = 0;
    $("#runs-more").addEventListener("click", () => {
      this.limit += PAGE;
      this.refresh();
    });
  }

  async refresh() {
    clearTimeout(this.timer);
    try {
      const page = await runsApi.list(Math.min(this.limit, 200));
      this.runs = page.runs;
      this.total = page.total;
      this.render();
    } catch {
      /* the server is away for a moment: keep the table, try again below */
    }
    // poll while something is moving, slowly otherwise (runs started elsewhere show up too)
    const busy = this.runs.some((r) => ACTIVE.has(r.status));
    this.timer = setTimeout(() => this.refresh(), busy ? 2000 : 10000);
  }

  setCurrent(id) {
    this.current = id;
    this.render();
  }

  render() {
    const body = $("#runs-body");
    const focused = document.activeElement?.closest?.("tr")?.dataset.runId;
    const focusKey = document.activeElement?.dataset?.key;
    body.replaceChildren(...this.runs.map((r) => this.row(r)));
    $("#runs-empty").hidden = this.runs.length > 0;
    $("#runs-table").hidden = this.runs.length === 0;
    $("#runs-more").hidden = this.runs.length >= this.total || this.limit >= 200;
    if (focused && focusKey) body.querySelector(`tr[data-run-id="${CSS.escape(focused)}"] [data-key="${focusKey}"]`)?.focus();
  }

  row(r) {
    const mine = hasToken(r.id);
    const check = h("input", { type: "checkbox", checked: this.selected.has(r.id), "data-key": "compare",
      "aria-label": t("train.runs.compareRun", { id: r.id }) });
    check.addEventListener("change", () => {
      if (check.checked) this.selected.add(r.id);
      else this.selected.delete(r.id);
      this.onCompare([...this.selected]);
    });
    const open = h("button", { type: "button", class: "link run-link", "data-key": "open", title: t("train.runs.watch") }, r.id);
    open.addEventListener("click", () => this.onSelect(r.id));
    const progress = ACTIVE.has(r.status) && r.status === "running" ? ` ${Math.round(r.progress.fraction * 100)}%` : "";
    const status = h("span", { class: `badge status-${r.status}` }, statusText(r.status, r.position) + progress);
    const acc = r.final?.test_acc;
    const actions = h("td", { class: "row-actions" });
    if (mine && FINAL.has(r.status)) {
      const del = h("button", { type: "button", class: "btn small-btn danger", "data-key": "delete" },
        this.confirming === r.id ? t("train.runs.confirm") : t("train.runs.delete"));
      del.addEventListener("click", () => this.remove(r.id));
      actions.append(del);
    }
    const tr = h("tr", { "data-run-id": r.id, "data-status": r.status, class: r.id === this.current ? "current" : "" },
      h("td", {}, check),
      h("td", {}, open, mine ? h("span", { class: "mine", title: t("train.runs.mineTitle") }, "●") : null),
      h("td", {}, status),
      h("td", { class: "config-cell" }, configSummary(r.config)),
      h("td", { class: "num" }, acc == null ? "—" : pct(acc, 2)),
      h("td", { class: "when" }, when(r.created)),
      actions);
    if (r.id === this.current) tr.setAttribute("aria-current", "true");
    tr.addEventListener("click", (e) => {
      if (!e.target.closest("button, input, a")) this.onSelect(r.id);
    });
    return tr;
  }

  async remove(id) {
    if (this.confirming !== id) {
      this.confirming = id;
      this.render();
      setTimeout(() => {
        if (this.confirming === id) {
          this.confirming = null;
          this.render();
        }
      }, 4000);
      return;
    }
    this.confirming = null;
    try {
      await runsApi.remove(id);
      forgetToken(id);
      this.selected.delete(id);
      this.onCompare([...this.selected]);
      if (this.current === id) this.onSelect(null);
    } catch {
      /* shown as still there after the refresh */
    }
    this.refresh();
  }

  clearSelection() {
    this.selected.clear();
    this.render();
    this.onCompare([]);
  }
}

/** Overlay the smoothed loss and the test accuracy of several runs. */
export class Compare {
  constructor() {
    this.ids = [];
    this.details = new Map(); // finished runs never change: fetched once
    this.loss = null;
    this.acc = null;
    this.timer = 0;
    $("#compare-log").addEventListener("change", (e) => this.loss?.setLog(e.target.checked));
  }

  async show(ids) {
    this.ids = ids;
    clearTimeout(this.timer);
    const box = $("#compare");
    box.hidden = ids.length < 2;
    box.dataset.series = String(ids.length >= 2 ? ids.length : 0);
    box.dataset.runs = ids.join(",");
    if (ids.length < 2) return;
    $("#compare-title").textContent = t("train.compare.title", { n: ids.length });
    const runs = [];
    for (const id of ids) {
      let d = this.details.get(id);
      if (!d || ACTIVE.has(d.status)) {
        try {
          d = await runsApi.get(id);
          this.details.set(id, d);
        } catch {
          continue;
        }
      }
      runs.push(d);
    }
    if (ids !== this.ids) return; // the selection changed meanwhile
    this.draw(runs);
    if (runs.some((r) => ACTIVE.has(r.status))) this.timer = setTimeout(() => this.show(this.ids), 2500);
  }

  draw(runs) {
    const label = differences(runs);
    const lossTables = runs.map((r) => [r.metrics.loss.map((_, i) => i + 1), smooth(r.metrics.loss, 0.95)]);
    const accTables = runs.map((r) => [r.metrics.epochs.map((e) => e.iteration), r.metrics.epochs.map((e) => e.test_acc)]);
    const lossSeries = runs.map((r) => ({ label: label(r), width: 1.8 }));
    const accSeries = runs.map((r) => ({ label: label(r), width: 1.8, points: true }));
    const lossData = align(lossTables);
    const accData = align(accTables);
    if (!this.loss) {
      this.loss = new LineChart($("#compare-loss"), { series: lossSeries, x: { label: t("train.axis.iteration") }, height: 240, y: { log: $("#compare-log").checked } });
      this.acc = new LineChart($("#compare-acc"), {
        series: accSeries, x: { label: t("train.axis.iteration") }, height: 240,
        y: { format: (v) => pct(v, 0), range: (u, lo) => [lo == null ? 0 : Math.max(0, Math.floor((lo - 0.02) * 20) / 20), 1] },
      });
    }
    const sameRuns = this.drawn === runs.map((r) => r.id).join(",");
    if (sameRuns) {
      this.loss.set(lossData);
      this.acc.set(accData);
    } else {
      this.loss.setSeries(lossSeries, lossData);
      this.acc.setSeries(accSeries, accData);
    }
    this.drawn = runs.map((r) => r.id).join(",");
    $("#compare").dataset.drawn = String(runs.length);
  }
}

const SHORT_NAMES = { hidden_size: "hidden", learning_rate: "lr", batch_size: "batch", weight_init: "init", iterations: "it",
  eval_every: "eval", train_limit: "train", test_limit: "test" };

/** Legend labels naming only what differs between the runs: "3f2a… · lr 0.5". */
function differences(runs) {
  const keys = Object.keys(runs[0]?.config || {}).filter((k) => k !== "seed" || runs.some((r) => r.config.seed != null))
    .filter((k) => new Set(runs.map((r) => JSON.stringify(r.config[k]))).size > 1);
  return (r) => [r.id, ...keys.map((k) => `${SHORT_NAMES[k] ?? k} ${r.config[k] ?? "—"}`)].join(" · ");
}
