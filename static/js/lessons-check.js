// "Predict, then see": the student types a number, the engine answers the
// question (a lesson's graph, changed as the question says), and the page
// says right or not and why. Also the progress kept in localStorage.

import { api } from "./api.js";
import { flat, fmt, num } from "./format.js";
import { t } from "./i18n.js";
import { inline, setText } from "./lessons-text.js";

const PROGRESS_KEY = "backprop-lab:lessons";

// ---------- progress ----------

export function loadProgress() {
  try {
    const p = JSON.parse(localStorage.getItem(PROGRESS_KEY) || "{}");
    return { visited: p.visited || {}, solved: p.solved || {}, last: p.last || null };
  } catch {
    return { visited: {}, solved: {}, last: null };
  }
}

export function updateProgress(change) {
  const p = loadProgress();
  change(p);
  try {
    localStorage.setItem(PROGRESS_KEY, JSON.stringify(p));
  } catch {
    /* storage refused: progress lasts as long as the page */
  }
  return p;
}

// ---------- reading a prediction ----------

/**
 * A number as people type it: "4.4", "-0.5", "1/4", "5 720", full-width
 * digits ("４.４"), a decimal comma ("4,4") or the minus sign "−". NaN if not.
 */
export function parseGuess(text) {
  let s = String(text).normalize("NFKC").replace(/[−–]/g, "-").replace(/\s+/g, "").replace(/。/g, ".");
  if (!s) return NaN;
  if (/^[-+]?\d+,\d+$/.test(s)) s = s.replace(",", ".");
  else if (/^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$/.test(s)) s = s.replace(/,/g, "");
  const frac = /^([-+]?\d+(?:\.\d+)?)\/(\d+(?:\.\d+)?)$/.exec(s);
  if (frac) return Number(frac[1]) / Number(frac[2]);
  return /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(s) ? Number(s) : NaN;
}

/** The question's answer: fixed, or read off the engine's evaluation of the changed graph. */
export async function answerOf(question, view) {
  if (question.answer != null) return question.answer;
  const graph = structuredClone(view.base);
  for (const [id, v] of Object.entries(question.set || {})) {
    const n = graph.nodes.find((x) => x.id === id);
    if (n) n.value = structuredClone(v);
  }
  const r = await api.evaluate(graph);
  const node = r.nodes[question.ask.node];
  let x = question.ask.kind === "value" ? node.value : node.grad;
  for (const i of question.index || []) x = x[i];
  if (question.reduce === "sum") x = flat(x).map(num).reduce((a, b) => a + b, 0);
  x = num(x);
  return Math.abs(x) < 1e-9 ? 0 : x; // the sum of y - t: 0, not 1.4e-17
}

// ---------- the box ----------

export class Check {
  constructor(slug, question, views, onSolved) {
    this.slug = slug;
    this.q = question;
    this.view = views[question.view || 0];
    this.onSolved = onSolved;
    this.input = Object.assign(document.createElement("input"), { type: "text", id: "guess", autocomplete: "off", spellcheck: false });
    this.input.setAttribute("inputmode", "decimal");
    this.button = Object.assign(document.createElement("button"), { type: "submit", className: "btn primary", textContent: t("lessons.check.submit") });
    this.result = document.createElement("div");
    this.result.className = "check-result";
    this.result.setAttribute("role", "status");
    this.result.setAttribute("aria-live", "polite");
    const label = Object.assign(document.createElement("label"), { htmlFor: "guess", textContent: t("lessons.check.label") });
    const form = document.createElement("form");
    form.className = "check-form";
    form.autocomplete = "off";
    form.append(label, this.input, this.button);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.submit();
    });
    const title = Object.assign(document.createElement("h2"), { textContent: t("lessons.check.title") });
    const text = setText(document.createElement("p"), t(`lesson.${slug}.question`));
    text.className = "check-question";
    this.root = document.createElement("section");
    this.root.className = "check";
    this.root.id = "check";
    this.root.setAttribute("aria-labelledby", "check-title");
    title.id = "check-title";
    this.root.append(title, text, form, this.result);
    // A question about the graph as shown hides its answer until the student has committed.
    if (!Object.keys(this.q.set || {}).length && this.q.answer == null) this.view.hide(this.q.ask.node, this.q.ask.kind);
  }

  async submit() {
    const raw = this.input.value.trim();
    const guess = parseGuess(raw);
    if (!raw || Number.isNaN(guess)) {
      this.show("invalid", raw ? t("lessons.check.notNumber", { text: raw }) : t("lessons.check.empty"));
      this.input.focus();
      this.settled();
      return;
    }
    this.button.disabled = true;
    let answer;
    try {
      answer = await answerOf(this.q, this.view);
    } catch (err) {
      this.show("invalid", t("lessons.check.failed", { detail: err.detail || err.message }));
      this.button.disabled = false;
      this.settled();
      return;
    }
    this.button.disabled = false;
    const right = Math.abs(guess - answer) <= (this.q.tolerance ?? 0) + 1e-9 * Math.max(1, Math.abs(answer));
    const head = right
      ? t("lessons.check.right", { answer: fmt(answer) })
      : t("lessons.check.wrong", { guess: fmt(guess), answer: fmt(answer) });
    this.show(right ? "right" : "wrong", head, t(`lesson.${this.slug}.explain`));
    this.result.dataset.answer = String(answer);
    if (right) this.onSolved?.();
    // now let the graph show it: the question's change applied, the number revealed and highlighted
    const focus = this.q.ask.node || null;
    if (Object.keys(this.q.set || {}).length) await this.view.showCase(this.q.set);
    if (this.q.answer == null) this.view.reveal(focus);
    this.settled();
  }

  /** For tests: one more answer has been shown and everything it changes is done. */
  settled() {
    this.result.dataset.count = String(Number(this.result.dataset.count || 0) + 1);
  }

  show(outcome, head, body) {
    this.result.dataset.outcome = outcome;
    const p = document.createElement("p");
    p.className = "check-head";
    p.append(outcome === "right" ? "✓ " : outcome === "wrong" ? "✗ " : "", inline(head));
    const parts = [p];
    if (body) {
      const e = document.createElement("p");
      e.className = "check-explain";
      e.append(inline(body));
      parts.push(e);
    }
    if (outcome !== "invalid" && this.q.answer == null && Object.keys(this.q.set || {}).length) {
      parts.push(Object.assign(document.createElement("p"), { className: "check-note", textContent: t("lessons.check.applied") }));
    }
    this.result.replaceChildren(...parts);
  }
}
