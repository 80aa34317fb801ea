// The lessons: the table of contents at /lessons and one lesson at
// /lessons/<slug>. The server sends each lesson's structure (app/lessons.py)
// in data-spec; every text comes from messages/lessons*.js.

import { api } from "./api.js";
import { addMessages, applyI18n, has, t } from "./i18n.js";
import { Check, loadProgress, updateProgress } from "./lessons-check.js";
import { math, renderText, setText } from "./lessons-text.js";
import { GradCheckDemo } from "./lessons-gradcheck.js";
import { TrainDemo } from "./lessons-train.js";
import { LiveView } from "./lessons-view.js";
import en from "./messages/lessons.js";
import zh from "./messages/lessons-zh.js";

addMessages("en", en);
addMessages("zh", zh);

const $ = (sel) => document.querySelector(sel);

function h(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

/** ✓ for a solved check, • for an opened lesson, in every list of lessons on the page. */
function markStatuses(progress) {
  document.querySelectorAll("[data-slug] [data-status]").forEach((el) => {
    const slug = el.closest("[data-slug]").dataset.slug;
    const state = progress.solved[slug] ? "solved" : progress.visited[slug] ? "visited" : "";
    el.dataset.state = state;
    el.textContent = state === "solved" ? "✓" : state === "visited" ? "•" : "";
    el.title = state ? t(`lessons.status.${state}`) : "";
    el.setAttribute("aria-label", state ? t(`lessons.status.${state}`) : "");
  });
}

function tocPage() {
  const progress = loadProgress();
  markStatuses(progress);
  const items = [...document.querySelectorAll("#toc [data-slug]")];
  const solved = items.filter((li) => progress.solved[li.dataset.slug]).length;
  const go = $("#lessons-continue");
  if (progress.last && document.querySelector(`#toc [data-slug="${CSS.escape(progress.last)}"]`)) {
    go.href = `/lessons/${progress.last}`;
    go.textContent = t("lessons.continue", { title: t(`lesson.${progress.last}.title`) });
  }
  $("#lessons-progress").textContent = Object.keys(progress.visited).length
    ? t("lessons.progress", { solved, total: items.length }) : "";
}

/** The op rules the lesson's graphs use, typeset from /api/ops: the notation of the editor's panel. */
function rulesBox(views, ops) {
  const seen = [];
  for (const v of views) for (const n of v.graph.nodes) if (!["input", "const"].includes(n.op) && !seen.includes(n.op)) seen.push(n.op);
  const box = h("details", "rules");
  box.append(h("summary", "", t("lessons.rules", { ops: seen.map((o) => ops[o]?.name || o).join(", ") })));
  const list = h("dl", "");
  for (const name of seen) {
    const op = ops[name];
    if (!op) continue;
    const dd = h("dd", "");
    dd.append(h("span", "rule-kind", t("panel.forward")), math(op.forward_latex || op.forward, true),
      h("span", "rule-kind", t("panel.backward")), math(op.backward_latex || op.backward, true));
    list.append(h("dt", "", `${op.symbol || ""} ${op.name}`.trim()), dd);
  }
  box.append(list);
  return box;
}

/** The contents: open as a rail where the screen is wide enough for one, folded above the lesson elsewhere. */
function wireContents() {
  const fold = $("#toc-fold");
  if (!fold) return;
  const wide = window.matchMedia("(min-width: 1480px)");
  const apply = () => { fold.open = wide.matches; };
  apply();
  wide.addEventListener("change", apply);
}

async function lessonPage(article) {
  wireContents();
  const spec = JSON.parse(article.dataset.spec);
  const slug = spec.slug;
  const number = Number(article.dataset.number);
  const total = Number(article.dataset.total);
  document.body.dataset.ownTitle = "true";
  document.title = `${t(`lesson.${slug}.title`)} · ${t("nav.lessons")} · ${t("app.name")}`;
  $("#lesson-kicker").textContent = t("lessons.kicker.lesson", { n: number, total, section: spec.section });
  let progress = updateProgress((p) => {
    p.visited[slug] = true;
    p.last = slug;
  });
  markStatuses(progress);

  let ops = {};
  try {
    ops = Object.fromEntries((await api.ops()).ops.map((o) => [o.name, o]));
  } catch (err) {
    $("#lesson-body").append(h("p", "notice", t("error.ops", { detail: err.detail || err.message })));
  }
  const views = spec.views.map((v, i) => {
    const key = `lesson.${slug}.view${i}`;
    return new LiveView(v, ops, i, has(key) ? setText(h("span"), t(key)) : null);
  });
  const train = spec.extra === "train" ? new TrainDemo(spec.train) : null;
  const slots = Object.fromEntries(views.map((v, i) => [`view:${i}`, () => v.root]));
  if (train) slots.train = () => train.root;
  if (spec.extra === "gradcheck") {
    const gc = new GradCheckDemo(spec.gradcheck);
    slots.gradcheck = () => gc.root;
  }
  slots.rules = () => rulesBox(spec.views, ops);

  const body = $("#lesson-body");
  const left = renderText(body, t(`lesson.${slug}.body`), slots);
  for (const name of left) body.append(slots[name]());

  const tryBox = h("aside", "try");
  tryBox.id = "try";
  tryBox.append(h("h2", "", t("lessons.try")));
  renderText(tryBox, t(`lesson.${slug}.try`));
  const check = new Check(slug, spec.question, views, () => {
    progress = updateProgress((p) => { p.solved[slug] = true; });
    markStatuses(progress);
  });
  body.append(tryBox, check.root);
  await Promise.all(views.map((v) => v.evaluate()));
  applyI18n();
}

async function start() {
  applyI18n();
  const article = $("#lesson");
  if (article) await lessonPage(article);
  else tocPage();
  document.body.dataset.ready = "true";
}

start();

window.backpropLessons = { loadProgress };
