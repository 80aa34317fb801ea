// The book's gradient check on 3 MNIST images (POST /api/gradient-check),
// on demand: the four mean differences it prints, how long each method took,
// and whether a hidden unit sat on ReLU's kink. Texts from the catalogue; the
// API's own explanation (English) is not shown.

import { fmt } from "./format.js";
import { t } from "./i18n.js";

const PARAMS = ["W1", "b1", "W2", "b2"];

function h(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

export class GradCheckDemo {
  /** `seeds`: {clean, kink}, weight initialisations without and with a unit on a kink. */
  constructor(seeds) {
    this.seeds = seeds;
    this.root = h("section", "gc-demo");
    this.root.id = "gc-demo";
    const buttons = h("div", "gc-buttons");
    this.clean = h("button", "btn primary", t("lessons.gc.run"));
    this.kink = h("button", "btn", t("lessons.gc.runKink"));
    for (const b of [this.clean, this.kink]) b.type = "button";
    this.status = h("span", "gc-status");
    this.status.setAttribute("role", "status");
    buttons.append(this.clean, this.kink, this.status);
    this.out = h("div", "gc-result");
    this.root.append(buttons, this.out);
    this.clean.addEventListener("click", () => this.run(seeds.clean));
    this.kink.addEventListener("click", () => this.run(seeds.kink));
  }

  async run(seed) {
    this.clean.disabled = this.kink.disabled = true;
    this.root.dataset.state = "running";
    this.status.textContent = t("lessons.gc.running");
    this.status.dataset.kind = "";
    let res, data;
    try {
      res = await fetch("/api/gradient-check", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ seed }) });
      data = await res.json().catch(() => ({}));
    } catch {
      res = null;
    }
    this.clean.disabled = this.kink.disabled = false;
    if (!res || !res.ok) {
      this.root.dataset.state = "failed";
      this.status.dataset.kind = "error";
      this.status.textContent = !res ? t("error.network") : res.status === 429 ? t("lessons.gc.busy") : t("lessons.gc.failed", { detail: data.detail || res.status });
      return;
    }
    this.status.textContent = "";
    this.show(data);
    this.root.dataset.state = data.passed ? "passed" : "kink";
  }

  show(d) {
    const kinks = d.kink.units.length > 0;
    const table = h("table", "gc-table");
    const head = h("tr");
    head.append(h("th", "", ""), ...PARAMS.map((p) => h("th", "", p)));
    const row = (label, diffs, key) => {
      const tr = h("tr");
      tr.append(h("th", "", label), ...PARAMS.map((p) => {
        const td = h("td", diffs[p] > 1e-6 ? "bad" : "", fmt(diffs[p]));
        td.dataset[key] = p;
        return td;
      }));
      return tr;
    };
    const thead = h("thead");
    thead.append(head);
    const tbody = h("tbody");
    tbody.append(row(t("lessons.gc.diff"), d.diffs, "param"));
    if (kinks) tbody.append(row(t("lessons.gc.diffWithout"), d.diffs_without_kinks, "without"));
    table.append(thead, tbody);
    const clean = PARAMS.every((p) => d.diffs[p] < 1e-6);
    const verdict = clean ? "passed" : d.passed ? "passedWithout" : "notPassed";
    const lines = [
      h("p", `gc-verdict ${d.passed ? "good" : "bad"}`, t(`lessons.gc.${verdict}`)),
      table,
      h("p", "", kinks
        ? t("lessons.gc.kink", { n: d.kink.units.length, h: fmt(d.kink.h), nearest: fmt(d.kink.nearest) })
        : t("lessons.gc.noKink", { h: fmt(d.kink.h), nearest: fmt(d.kink.nearest) })),
      h("p", "", t("lessons.gc.speed", {
        bp: fmt(d.backprop_seconds * 1000), num: fmt(d.numerical_seconds), x: Math.round(d.speedup).toLocaleString("en"),
      })),
    ];
    this.out.replaceChildren(...lines);
  }
}
