// The training dashboard (/train): the form, the run being watched, the list of runs, comparisons.

import "./messages/dashboard.js";
import { ApiError } from "./api.js";
import { applyI18n, t } from "./i18n.js";
import { runsApi, saveToken } from "./train-api.js";
import { Compare, RunsList } from "./train-list.js";
import { RunView } from "./train-view.js";

const $ = (s) => document.querySelector(s);
const form = $("#run-form");

// The book's experiment, and a run that finishes in a few seconds.
const PRESETS = {
  book: { dataset: "mnist", hidden_size: 50, activation: "relu", weight_init: "0.01", optimizer: "sgd", learning_rate: 0.1,
    batch_size: 100, iterations: 10000, epochs: "", eval_every: 600, seed: "", train_limit: "", test_limit: "" },
  quick: { dataset: "mnist", hidden_size: 50, activation: "relu", weight_init: "0.01", optimizer: "sgd", learning_rate: 0.1,
    batch_size: 100, iterations: 2000, epochs: "", eval_every: 200, seed: "", train_limit: 10000, test_limit: 2000 },
};
const INTEGER = new Set(["hidden_size", "batch_size", "iterations", "eval_every", "seed", "train_limit", "test_limit"]);
const OPTIONAL = new Set(["seed", "train_limit", "test_limit", "epochs"]);

function fill(values) {
  for (const [k, v] of Object.entries(values)) {
    const input = form.elements[k];
    if (input) input.value = String(v);
  }
  clearErrors();
}

/** The form as a TrainConfig; problems the browser can see are reported per field. */
function readConfig() {
  const config = {};
  const problems = [];
  for (const el of form.querySelectorAll("[name]")) {
    const name = el.name;
    const raw = el.value.trim();
    if (OPTIONAL.has(name) && raw === "") {
      config[name] = null;
      continue;
    }
    if (el.tagName === "SELECT") config[name] = raw;
    else if (name === "weight_init") {
      const w = raw.toLowerCase();
      config[name] = w === "xavier" || w === "he" ? w : Number(w);
      if (typeof config[name] === "number" && !(config[name] > 0 && config[name] <= 10)) problems.push([name, t("train.error.weightInit")]);
    } else {
      const n = Number(raw);
      config[name] = n;
      if (raw === "" || !Number.isFinite(n) || (INTEGER.has(name) && !Number.isInteger(n))) problems.push([name, t(INTEGER.has(name) ? "train.error.integer" : "train.error.number")]);
      else if (el.min !== "" && (name === "learning_rate" || name === "epochs" ? n <= Number(el.min) : n < Number(el.min))) problems.push([name, t("train.error.range", { min: el.min, max: el.max })]);
      else if (el.max !== "" && n > Number(el.max)) problems.push([name, t("train.error.range", { min: el.min, max: el.max })]);
    }
  }
  if (config.epochs == null) delete config.epochs;
  else delete config.iterations; // epochs set the iterations; sending both would be a contradiction
  return { config, problems };
}

function clearErrors() {
  form.querySelectorAll(".ffield .ferror").forEach((e) => e.remove());
  form.querySelectorAll("[aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
  $("#form-error").hidden = true;
}

function showErrors(problems, general) {
  clearErrors();
  if (form.classList.contains("folded")) foldForm(false);
  let first = null;
  for (const [field, message] of problems) {
    const box = form.querySelector(`.ffield[data-field="${field}"]`);
    const input = form.elements[field];
    if (!box || !input) {
      general = general ? `${general} ${message}` : message;
      continue;
    }
    if (box.closest("details")) box.closest("details").open = true;
    input.setAttribute("aria-invalid", "true");
    const p = document.createElement("p");
    p.className = "ferror";
    p.id = `e-${field}`;
    p.textContent = message;
    box.append(p);
    input.setAttribute("aria-describedby", `e-${field} h-${field}`);
    first ??= input;
  }
  if (general) {
    $("#form-error").hidden = false;
    $("#form-error").textContent = general;
  }
  first?.focus();
}

async function submit(e) {
  e.preventDefault();
  const { config, problems } = readConfig();
  if (problems.length) return showErrors(problems);
  clearErrors();
  const button = $("#start");
  button.disabled = true;
  button.textContent = t("train.starting");
  try {
    const created = await runsApi.start(config);
    saveToken(created.id, created.token);
    select(created.id);
    if (phone.matches) {
      foldForm(true);
      $("#run").scrollIntoView({ block: "start" });
    }
    list.refresh();
  } catch (err) {
    if (err instanceof ApiError && err.errors.length && err.status === 422) {
      showErrors(err.errors.map((x) => [x.field, x.message.replace(new RegExp(`^${x.field}: `), "")]));
    } else if (err instanceof ApiError && err.status === 429) {
      showErrors([], t("train.error.busy", { detail: err.detail }));
    } else {
      showErrors([], t("train.error.start", { detail: err.detail || err.message }));
    }
  } finally {
    button.disabled = false;
    button.textContent = t("train.start");
  }
}

function select(id) {
  const url = new URL(location.href);
  if (id) url.searchParams.set("run", id);
  else url.searchParams.delete("run");
  history.replaceState(null, "", url);
  list.setCurrent(id);
  if (id) view.follow(id);
  else view.clear();
}

applyI18n();
let lastStatus = "";
const view = new RunView({
  onChange: (run) => {
    if (!run) return;
    list.setCurrent(run.id);
    // the table shows statuses too: refresh it when the watched run changes state
    if (lastStatus && lastStatus !== `${run.id}:${run.status}`) list.refresh();
    lastStatus = `${run.id}:${run.status}`;
  },
});
const compare = new Compare();
const list = new RunsList({ onSelect: select, onCompare: (ids) => compare.show(ids) });

form.addEventListener("submit", submit);
form.addEventListener("reset", (e) => {
  e.preventDefault();
  fill(PRESETS.book);
});
form.addEventListener("input", (e) => {
  if (e.target.getAttribute("aria-invalid")) {
    e.target.removeAttribute("aria-invalid");
    e.target.closest(".ffield")?.querySelector(".ferror")?.remove();
  }
});
document.querySelectorAll("[data-preset]").forEach((b) => b.addEventListener("click", () => {
  fill(PRESETS[b.dataset.preset]);
  if (b.dataset.preset === "quick") $("#advanced").open = true;
}));
$("#compare-clear").addEventListener("click", () => list.clearSelection());

// On a phone the form folds away while a run is watched, so the curves come first.
const phone = matchMedia("(max-width: 760px)");
function foldForm(folded) {
  form.classList.toggle("folded", folded);
  $("#form-toggle").setAttribute("aria-expanded", String(!folded));
  $("#form-toggle").textContent = t(folded ? "train.form.show" : "train.form.hide");
}
$("#form-toggle").addEventListener("click", () => foldForm(!form.classList.contains("folded")));

const wanted = new URL(location.href).searchParams.get("run");
await list.refresh();
const initial = wanted || list.runs[0]?.id || null;
if (initial) select(initial);
if (initial && phone.matches) foldForm(true);
window.backpropTrain = { view, list, compare }; // for tests and the curious, in the console
document.body.dataset.ready = "true";
