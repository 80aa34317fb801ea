// Every string the interface shows, keyed by message id, in English and
// Simplified Chinese. Templates mark their texts with data-i18n (text),
// data-i18n-title, data-i18n-placeholder and data-i18n-aria-label;
// `applyI18n` fills them, `t(id, params)` serves code.
//
// Each area keeps its own catalogue in messages/ and registers it with
// addMessages("en", {...}) / addMessages("zh", {...}). The editor's live in
// messages/editor*.js and are registered here, so every page has them.
//
// The language: the server picks it (cookie `lang`, else Accept-Language) and
// writes <html lang>; the header's switch stores the choice in localStorage
// and the cookie, then reloads, so server and page always agree.

import editorEn from "./messages/editor.js";
import editorZh from "./messages/editor-zh.js";

export const LOCALES = ["en", "zh"];
const HTML_LANG = { en: "en", zh: "zh-CN" };
const STORE_KEY = "backprop-lab:lang";

// The shell every page shares: header, navigation, language switch, page titles.
const shell = {
  en: {
    "app.name": "Backprop Lab",
    "nav.label": "Main",
    "nav.editor": "Editor",
    "nav.train": "Train",
    "nav.net": "Net",
    "nav.lessons": "Lessons",
    "nav.api": "API",
    "lang.label": "Language",
    "page.editor": "Graph editor",
    "page.train": "Training dashboard",
    "page.net": "Inside the net",
    "page.lessons": "Lessons",
    "page.docs": "API documentation",
  },
  zh: {
    "app.name": "反向传播实验室",
    "nav.label": "主导航",
    "nav.editor": "编辑器",
    "nav.train": "训练",
    "nav.net": "网络",
    "nav.lessons": "课程",
    "nav.api": "API",
    "lang.label": "语言",
    "page.editor": "计算图编辑器",
    "page.train": "训练面板",
    "page.net": "网络内部",
    "page.lessons": "课程",
    "page.docs": "API 文档",
  },
};

const catalogues = { en: {}, zh: {} };
const en = catalogues.en;
let current = en;
let currentLocale = "en";

export function addMessages(locale, dict) {
  catalogues[locale] = Object.assign(catalogues[locale] || {}, dict);
}

addMessages("en", shell.en);
addMessages("zh", shell.zh);
addMessages("en", editorEn);
addMessages("zh", editorZh);

export function setLocale(locale) {
  currentLocale = catalogues[locale] ? locale : "en";
  current = catalogues[currentLocale];
  if (typeof document !== "undefined") document.documentElement.lang = HTML_LANG[currentLocale] || currentLocale;
}

export function locale() {
  return currentLocale;
}

export function t(id, params = {}) {
  const text = current[id] ?? en[id] ?? id;
  return text.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
}

/**
 * Text that has its English elsewhere (an op's description comes from the API):
 * the current language's translation if there is one, else `fallback`.
 */
export function tOr(id, fallback, params = {}) {
  return id in current && current !== en ? t(id, params) : fallback;
}

/** Is there an English text for this id? (Every id has one; Chinese falls back to it.) */
export function has(id) {
  return id in en;
}

/**
 * Fill every marked element under `root`. Ids no catalogue knows yet are left
 * alone, so a page whose catalogue registers later keeps its template text.
 */
export function applyI18n(root = document) {
  for (const [attr, target] of [["data-i18n", null], ["data-i18n-title", "title"], ["data-i18n-placeholder", "placeholder"], ["data-i18n-aria-label", "aria-label"]]) {
    root.querySelectorAll(`[${attr}]`).forEach((e) => {
      const id = e.getAttribute(attr);
      if (!has(id)) return;
      const text = t(id);
      if (target) e.setAttribute(target, text);
      else e.textContent = text;
    });
  }
  const page = /\bpage-([\w-]+)/.exec(document.body?.className || "")?.[1];
  if (root === document && page && has(`page.${page}`) && !document.body.dataset.ownTitle) {
    document.title = `${t(`page.${page}`)} · ${t("app.name")}`;
  }
}

// ---------- choosing and remembering the language ----------

function readCookie() {
  return /(?:^|;\s*)lang=(en|zh)(?:;|$)/.exec(document.cookie)?.[1] ?? null;
}

function remember(locale) {
  document.cookie = `lang=${locale}; Path=/; Max-Age=${60 * 60 * 24 * 365}; SameSite=Lax`;
  try {
    localStorage.setItem(STORE_KEY, locale);
  } catch {
    /* storage refused: the cookie still carries it */
  }
}

function stored() {
  try {
    const v = localStorage.getItem(STORE_KEY);
    return LOCALES.includes(v) ? v : null;
  } catch {
    return null;
  }
}

/**
 * The cookie is what the server rendered with; a choice kept only in
 * localStorage (cookie cleared or expired) is restored and wins; with neither,
 * the server's pick from Accept-Language stands and nothing is stored, so the
 * default keeps following the browser.
 */
function initialLocale() {
  const cookie = readCookie();
  const kept = stored();
  if (cookie) {
    if (kept !== cookie) remember(cookie);
    return cookie;
  }
  if (kept) {
    remember(kept);
    return kept;
  }
  const server = document.documentElement.dataset.locale || document.documentElement.lang || "en";
  return server.toLowerCase().startsWith("zh") ? "zh" : "en";
}

/** Switch the whole interface: remember the choice and reload, so the server renders in it too. */
export function switchLanguage(locale) {
  if (!LOCALES.includes(locale)) return;
  remember(locale);
  if (locale !== currentLocale) location.reload();
}

function wireSwitch() {
  const box = document.getElementById("lang-switch");
  if (!box || box.dataset.wired) return;
  box.dataset.wired = "true";
  for (const b of box.querySelectorAll("button[data-lang]")) {
    b.setAttribute("aria-pressed", String(b.dataset.lang === currentLocale));
    b.addEventListener("click", () => switchLanguage(b.dataset.lang));
  }
}

function ready() {
  applyI18n();
  document.documentElement.classList.add("i18n-ready");
}

if (typeof document !== "undefined") {
  setLocale(initialLocale());
  wireSwitch();
  // Module scripts all run before DOMContentLoaded, so by then every page's catalogue is registered.
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready, { once: true });
  else ready();
}

export const messages = catalogues;
