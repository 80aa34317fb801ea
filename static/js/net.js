// Inside the net (/net): one image through a run's net, every value and gradient on its edges,
// the probabilities, W1's images, the confusion matrix and the mistakes; live while it trains.

import "./messages/dashboard.js";
import { api, ApiError } from "./api.js";
import { DrawPad } from "./draw.js";
import { applyI18n, t } from "./i18n.js";
import { detailLine, NetGraph } from "./net-graph.js";
import { clearProbabilities, Mistakes, showGradCheck, showProbabilities, W1Grid } from "./net-panels.js";
import { paint, toMnist } from "./preprocess.js";
import { configSummary, pct, runsApi } from "./train-api.js";
import { statusText } from "./train-view.js";

const $ = (s) => document.querySelector(s);
const LIVE = { predict: 300, w1: 600, inspect: 3000 }; // ms between refreshes while following a run
const WITH_WEIGHTS = new Set(["running", "done", "stopped", "interrupted"]);

const S = {
  runs: [], run: null, image: null, source: null, trueLabel: null, sampleIndex: null,
  label: "auto", inflight: false, again: false, sampleSeed: null, timers: [],
};

const graph = new NetGraph($("#graph"), $("#canvas"), {
  onSelect: (id, d) => {
    $("#node-detail").hidden = !d;
    $("#node-detail").replaceChildren(detailLine(d));
  },
});
const w1 = new W1Grid($("#w1"));
const mistakes = new Mistakes({
  onPick: (px, label, index) => {
    useImage(px, "gallery", label, index);
    // the net is at the top of the page: bring it into view to see the mistake go through it
    const smooth = matchMedia("(prefers-reduced-motion: no-preference)").matches;
    document.querySelector(".net-card").scrollIntoView({ behavior: smooth ? "smooth" : "auto", block: "start" });
  },
});

function message(text, kind = "info") {
  const m = $("#net-message");
  m.hidden = !text;
  m.textContent = text || "";
  m.dataset.kind = kind;
}

// ---------- runs ----------

function runOption(r) {
  const acc = r.final?.test_acc != null ? ` · ${t("net.testAcc")} ${pct(r.final.test_acc, 1)}` : "";
  const status = r.status === "running" ? `${statusText(r.status)} ${Math.round(r.progress.fraction * 100)}%` : statusText(r.status);
  return `${r.id} · ${status} · ${configSummary(r.config, { short: true })}${acc}`;
}

async function loadRuns() {
  try {
    const page = await runsApi.list(100);
    S.runs = page.runs.filter((r) => WITH_WEIGHTS.has(r.status) && r.progress.iteration > 0 || r.status === "running");
  } catch {
    return;
  }
  const select = $("#run-select");
  const keep = S.run?.id;
  select.replaceChildren(...S.runs.map((r) => {
    const o = document.createElement("option");
    o.value = r.id;
    o.textContent = runOption(r);
    return o;
  }));
  if (keep && S.runs.some((r) => r.id === keep)) select.value = keep;
  $("#no-runs").hidden = S.runs.length > 0;
  const fresh = S.runs.find((r) => r.id === keep);
  if (fresh && S.run) {
    const changed = fresh.status !== S.run.status;
    const weightsCame = !hasWeights(S.run) && hasWeights(fresh);
    S.run = fresh;
    if (changed) runChanged();
    if (changed || weightsCame) refreshAll(); // the first, or the final, weights
  }
}

function chooseRun(id) {
  const run = S.runs.find((r) => r.id === id) || null;
  S.run = run;
  $("#run-select").value = id || "";
  const url = new URL(location.href);
  if (id) url.searchParams.set("run", id);
  else url.searchParams.delete("run");
  history.replaceState(null, "", url);
  w1.clear();
  mistakes.clear();
  runChanged();
  if (!run) return;
  loadSamples();
  refreshAll();
}

function runChanged() {
  const run = S.run;
  const badge = $("#run-status");
  badge.hidden = !run;
  if (run) {
    badge.className = `badge status-${run.status}`;
    badge.textContent = statusText(run.status);
  }
  const live = run?.status === "running";
  $("#follow-box").hidden = !live;
  $("#run-note").textContent = live ? t("net.note.live") : "";
  schedule();
}

/** While a run trains (and the box is ticked), refresh from its newest weights a few times a second. */
function schedule() {
  S.timers.forEach(clearInterval);
  S.timers = [];
  if (S.run?.status !== "running" || !$("#follow").checked) return;
  S.timers.push(setInterval(() => S.image && predict(), LIVE.predict));
  S.timers.push(setInterval(loadW1, LIVE.w1));
  S.timers.push(setInterval(loadInspect, LIVE.inspect));
  S.timers.push(setInterval(loadRuns, 1000)); // notices the first weights and the end of the run
}

/** A run just started has no weights until its first iterations: asking would only get 409s. */
function hasWeights(run) {
  return run.status !== "running" || run.progress.iteration > 0;
}

function refreshAll() {
  if (S.run && !hasWeights(S.run)) {
    message(t("net.noWeights"));
    return;
  }
  message("");
  loadW1();
  loadInspect();
  if (S.image) predict();
}

async function loadW1() {
  const run = S.run;
  if (!run || !hasWeights(run)) return;
  try {
    const data = await runsApi.w1(run.id);
    if (S.run?.id === run.id) w1.show(data);
  } catch (err) {
    if (err.status === 409) message(t("net.noWeights"));
  }
}

async function loadInspect() {
  const run = S.run;
  if (!run || !hasWeights(run) || S.inspecting) return;
  S.inspecting = true;
  try {
    const data = await runsApi.inspect(run.id, 200);
    if (S.run?.id === run.id) mistakes.show(data);
  } catch {
    /* shown again on the next refresh */
  } finally {
    S.inspecting = false;
  }
}

// ---------- the image ----------

function useImage(pixels, source, trueLabel = null, index = null) {
  S.image = pixels;
  S.source = source;
  S.trueLabel = trueLabel;
  S.sampleIndex = index;
  paint($("#seen"), pixels);
  $("#seen-text").textContent = trueLabel == null ? t("net.seen.drawing")
    : t("net.seen.test", { index, label: trueLabel });
  document.querySelectorAll("#samples .thumb").forEach((b) => b.setAttribute("aria-pressed", String(source === "sample" && Number(b.dataset.index) === index)));
  predict();
}

async function predict() {
  const run = S.run;
  if (!run || !S.image || !hasWeights(run)) return;
  if (S.inflight) {
    S.again = true;
    return;
  }
  S.inflight = true;
  const label = S.label === "auto" ? S.trueLabel : Number(S.label);
  try {
    const res = await runsApi.predict(run.id, S.image, label);
    if (S.run?.id === run.id) {
      graph.show(res.graph);
      $("#graph-empty").hidden = true;
      showProbabilities(res, S.trueLabel);
      $("#graph-note").textContent = S.trueLabel == null ? "" : t("net.truth", { label: S.trueLabel });
      message("");
    }
  } catch (err) {
    if (err instanceof ApiError && err.status === 409) message(t("net.noWeights"));
    else if (err instanceof ApiError && err.status === 404) message(t("net.runGone"), "error");
    else message(t("net.predictError", { detail: err.detail || err.message }), "error");
  } finally {
    S.inflight = false;
    if (S.again) {
      S.again = false;
      predict();
    }
  }
}

async function loadSamples(seed = S.sampleSeed) {
  const dataset = S.run?.config.dataset || "mnist";
  S.sampleSeed = seed;
  try {
    const s = await runsApi.samples(dataset, seed == null ? { n: 24 } : { n: 24, seed });
    const box = $("#samples");
    box.replaceChildren(...s.images.map((img, i) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "thumb";
      b.dataset.index = String(s.indices[i]);
      b.dataset.label = String(s.labels[i]);
      b.setAttribute("aria-pressed", String(S.source === "sample" && S.sampleIndex === s.indices[i]));
      b.setAttribute("aria-label", t("net.samples.item", { index: s.indices[i], label: s.classes[s.labels[i]] }));
      const c = document.createElement("canvas");
      paint(c, img);
      const tag = document.createElement("span");
      tag.className = "tag";
      tag.textContent = s.classes[s.labels[i]].slice(0, 3);
      b.append(c, tag);
      b.addEventListener("click", () => useImage(img, "sample", s.labels[i], s.indices[i]));
      return b;
    }));
    $("#samples-note").textContent = seed == null ? t("net.samples.first") : t("net.samples.random");
    // Nothing chosen yet: show the net at work on the first test image rather than an empty panel.
    if (!S.image && s.images.length) useImage(s.images[0], "sample", s.labels[0], s.indices[0]);
  } catch (err) {
    $("#samples-note").textContent = t("net.samples.error", { detail: err.detail || err.message });
  }
}

// ---------- tabs, pad, label ----------

function selectTab(which) {
  for (const [tab, panel] of [["#tab-draw", "#panel-draw"], ["#tab-samples", "#panel-samples"]]) {
    const on = tab === which;
    $(tab).setAttribute("aria-selected", String(on));
    $(tab).tabIndex = on ? 0 : -1;
    $(panel).hidden = !on;
  }
}

function wireInputs() {
  $("#tab-draw").addEventListener("click", () => selectTab("#tab-draw"));
  $("#tab-samples").addEventListener("click", () => selectTab("#tab-samples"));
  $(".tabs").addEventListener("keydown", (e) => {
    if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
    const next = $("#tab-draw").getAttribute("aria-selected") === "true" ? "#tab-samples" : "#tab-draw";
    selectTab(next);
    $(next).focus();
  });
  let last = 0;
  let timer = 0;
  const fromPad = () => {
    const { ink, w, h } = pad.ink();
    const px = toMnist(ink, w, h);
    if (px) useImage(px, "draw");
  };
  const pad = new DrawPad($("#pad"), {
    onChange: (final) => {
      // predict while drawing, at most every 150 ms, and always when the stroke ends
      clearTimeout(timer);
      const now = performance.now();
      if (final || now - last > 150) {
        last = now;
        fromPad();
      } else timer = setTimeout(fromPad, 150);
    },
    onClear: () => {
      if (S.source === "draw") {
        S.image = null;
        graph.clear();
        $("#graph-empty").hidden = false;
        clearProbabilities();
        paint($("#seen"), new Array(784).fill(0));
        $("#seen-text").textContent = t("net.seen.none");
      }
    },
  });
  $("#pad-clear").addEventListener("click", () => pad.clear());
  $("#samples-more").addEventListener("click", () => loadSamples(Math.floor(Math.random() * 2 ** 31)));
  const pick = $("#label-pick");
  for (let d = 0; d <= 9; d++) {
    const l = document.createElement("label");
    const input = document.createElement("input");
    input.type = "radio";
    input.name = "label";
    input.value = String(d);
    const chip = document.createElement("span");
    chip.className = "chip";
    chip.textContent = String(d);
    l.append(input, chip);
    pick.append(l);
  }
  pick.addEventListener("change", (e) => {
    S.label = e.target.value;
    predict();
  });
}

// ---------- gradient check ----------

function wireGradCheck() {
  const form = $("#gc-form");
  document.querySelectorAll("#gc-form [data-seed]").forEach((b) => b.addEventListener("click", () => {
    $("#gc-seed").value = b.dataset.seed;
    form.requestSubmit();
  }));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const box = $("#gc-result");
    const seed = Number($("#gc-seed").value || 0);
    const button = $("#gc-run");
    button.disabled = true;
    box.classList.add("busy");
    const note = document.createElement("p");
    note.className = "hint";
    note.textContent = t("net.gc.running");
    box.prepend(note);
    try {
      showGradCheck(box, await runsApi.gradientCheck({ seed }));
    } catch (err) {
      box.replaceChildren(Object.assign(document.createElement("p"), { className: "ferror", textContent: t("net.gc.error", { detail: err.detail || err.message }) }));
    } finally {
      button.disabled = false;
      box.classList.remove("busy");
      note.remove();
    }
  });
}

// ---------- start ----------

applyI18n();
wireInputs();
wireGradCheck();
paint($("#seen"), new Array(784).fill(0));
$("#run-select").addEventListener("change", (e) => chooseRun(e.target.value));
$("#follow").addEventListener("change", () => {
  schedule();
  if ($("#follow").checked) refreshAll();
});
try {
  graph.setOps((await api.ops()).ops);
} catch {
  message(t("net.opsError"), "error");
}
await loadRuns();
const wanted = new URL(location.href).searchParams.get("run");
const first = S.runs.find((r) => r.id === wanted) || S.runs.find((r) => r.status === "done") || S.runs[0];
chooseRun(first?.id ?? null);
setInterval(() => !S.timers.length && loadRuns(), 10000); // new runs appear in the menu
window.backpropNet = { S, graph }; // for tests and the curious, in the console
document.body.dataset.ready = "true";
