// The runs API for the dashboard and the net view, and the stop/delete tokens this browser holds.

import { request } from "./api.js";
import { t } from "./i18n.js";

const TOKENS = "backprop-lab.run-tokens";
const enc = encodeURIComponent;

export const runsApi = {
  start: (config) => request("POST", "/api/runs", config),
  list: (limit = 100, offset = 0) => request("GET", `/api/runs?limit=${limit}&offset=${offset}`),
  get: (id, opts) => request("GET", `/api/runs/${enc(id)}`, undefined, opts),
  stop: (id) => request("POST", `/api/runs/${enc(id)}/stop`, undefined, { headers: auth(id) }),
  remove: (id) => request("DELETE", `/api/runs/${enc(id)}`, undefined, { headers: auth(id), text: true }),
  predict: (id, image, label, opts) =>
    request("POST", `/api/runs/${enc(id)}/predict`, { image, label: label ?? undefined, detail: "summary" }, opts),
  w1: (id, opts) => request("GET", `/api/runs/${enc(id)}/w1`, undefined, opts),
  inspect: (id, gallery = 60, opts) => request("GET", `/api/runs/${enc(id)}/inspect?gallery=${gallery}`, undefined, opts),
  samples: (dataset, { n = 24, offset = 0, seed } = {}) =>
    request("GET", `/api/datasets/${enc(dataset)}/samples?split=test&n=${n}&offset=${offset}${seed != null ? `&seed=${seed}` : ""}`),
  gradientCheck: (body) => request("POST", "/api/gradient-check", body),
  eventsUrl: (id, after) => `/api/runs/${enc(id)}/events${after ? `?after=${after}` : ""}`,
  csvUrl: (id) => `/api/runs/${enc(id)}/metrics.csv`,
  jsonUrl: (id) => `/api/runs/${enc(id)}`,
  weightsUrl: (id) => `/api/runs/${enc(id)}/weights.npz`,
};

export const ACTIVE = new Set(["queued", "running"]);
export const FINAL = new Set(["done", "stopped", "failed", "interrupted"]);

// ---- tokens: the page that started a run can stop or delete it, even after a reload ----

function readTokens() {
  try {
    return JSON.parse(localStorage.getItem(TOKENS) || "{}") || {};
  } catch {
    return {};
  }
}

export function saveToken(id, token) {
  const all = readTokens();
  all[id] = token;
  const ids = Object.keys(all);
  for (const old of ids.slice(0, Math.max(0, ids.length - 200))) delete all[old]; // oldest first out
  try {
    localStorage.setItem(TOKENS, JSON.stringify(all));
  } catch {
    /* private mode or full: the run can still be watched, just not stopped after a reload */
  }
}

export function hasToken(id) {
  return id in readTokens();
}

export function forgetToken(id) {
  const all = readTokens();
  delete all[id];
  try {
    localStorage.setItem(TOKENS, JSON.stringify(all));
  } catch {
    /* ignore */
  }
}

function auth(id) {
  const token = readTokens()[id];
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** "784-50-10 ReLU · SGD lr 0.1 · batch 100 · 10,000 it" (in Chinese "批量 100 · 10,000 次迭代"). */
export function configSummary(c, { short = false } = {}) {
  const n = (x) => Number(x).toLocaleString("en-US");
  const parts = [`784-${c.hidden_size}-10 ${c.activation === "sigmoid" ? "sigmoid" : "ReLU"}`,
    `${String(c.optimizer).toUpperCase() === "SGD" ? "SGD" : cap(c.optimizer)} lr ${c.learning_rate}`,
    t("run.cfg.batch", { n: c.batch_size }), t("run.cfg.iterations", { n: n(c.iterations) })];
  if (!short) {
    if (c.weight_init !== 0.01) parts.push(t("run.cfg.init", { v: c.weight_init }));
    if (c.train_limit) parts.push(t("run.cfg.train", { n: n(c.train_limit) }));
    if (c.test_limit) parts.push(t("run.cfg.test", { n: n(c.test_limit) }));
    if (c.dataset && c.dataset !== "mnist") parts.unshift(c.dataset);
  }
  return parts.join(" · ");
}

function cap(s) {
  s = String(s);
  return s === "adagrad" ? "AdaGrad" : s === "adam" ? "Adam" : s.charAt(0).toUpperCase() + s.slice(1);
}

export function pct(x, digits = 1) {
  return x == null || !Number.isFinite(x) ? "—" : `${(x * 100).toFixed(digits)}%`;
}
