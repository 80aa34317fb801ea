// The side panel: what the selected node or edge is, its formula and local
// derivative (KaTeX), its full value and gradient, and fields to edit it.

import katex from "../vendor/katex/katex.mjs";
import { compact, flat, fmt, full, parseValue, shapeOf, shapeText, valueText } from "./format.js";
import { t, tOr } from "./i18n.js";
import { slotName } from "./view.js";

function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c != null) e.append(c);
  return e;
}

function tex(latex, fallback) {
  const box = h("div", { class: "formula" });
  if (latex) {
    try {
      katex.render(latex, box, { throwOnError: false, displayMode: true, output: "html" });
      return box;
    } catch {
      /* fall through to the plain text */
    }
  }
  box.textContent = fallback || "";
  return box;
}

/** A number or matrix as a table (rows × columns; higher ranks flattened to rows). */
export function matrix(v, cls = "") {
  if (v === null || v === undefined) return h("p", { class: "muted", text: "—" });
  if (!Array.isArray(v)) return h("div", { class: `scalar ${cls}`, title: full(v), text: fmt(v) });
  const shape = shapeOf(v);
  const rows = shape.length === 1 ? [v] : shape.length === 2 ? v : (() => {
    const cols = shape.at(-1);
    const all = flat(v);
    return Array.from({ length: all.length / cols }, (_, i) => all.slice(i * cols, (i + 1) * cols));
  })();
  const shown = rows.slice(0, 50);
  return h("div", { class: "matrix-wrap" },
    h("div", { class: "shape", text: t("panel.shape", { shape: shapeText(shape) }) }),
    h("table", { class: `matrix ${cls}` },
      h("tbody", {}, shown.map((row) => h("tr", {}, row.slice(0, 50).map((x) => h("td", { title: full(x), text: fmt(x) })))))));
}

export class Panel {
  /** `ctl` is the editor: state, doc and the actions the panel may call. */
  constructor(root, ctl) {
    this.root = root;
    this.ctl = ctl;
    this.key = null;
  }

  /** Rebuild everything, keeping whatever the user is typing in a field. */
  render(force = false) {
    const { S, doc } = this.ctl;
    const key = S.selected ? `n:${S.selected}` : S.selectedEdge ? `e:${S.selectedEdge}` : "help";
    const active = document.activeElement;
    const inside = this.root.contains(active) && active.dataset.field;
    if (!force && key === this.key && inside) {
      this.renderComputed();
      return;
    }
    const focusField = inside ? active.dataset.field : null;
    const caret = inside && "selectionStart" in active ? [active.selectionStart, active.selectionEnd] : null;
    const scroll = this.root.scrollTop;
    this.key = key;
    this.root.replaceChildren();
    if (S.selected && doc.node(S.selected)) this.renderNode(doc.node(S.selected));
    else if (S.selectedEdge) this.renderEdge(S.selectedEdge);
    else this.renderHelp();
    this.root.scrollTop = scroll;
    if (focusField) {
      const f = this.root.querySelector(`[data-field="${CSS.escape(focusField)}"]`);
      if (f) {
        f.focus();
        if (caret && f.setSelectionRange) try { f.setSelectionRange(...caret); } catch { /* not a text field */ }
      }
    }
  }

  renderHelp() {
    this.root.append(
      h("h2", { text: t("panel.helpTitle") }),
      h("p", { text: t("panel.help1") }),
      h("p", { text: t("panel.help2") }),
      h("p", { text: t("panel.help3") }),
      h("h3", { text: t("panel.keysTitle") }),
      h("p", { class: "keys", text: t("panel.keys") }),
    );
  }

  renderNode(node) {
    const { S, doc, ops } = this.ctl;
    const op = ops()[node.op];
    const leaf = op ? op.arity === 0 : ["input", "const"].includes(node.op);
    const nameField = h("input", {
      id: "panel-name", type: "text", value: node.id, "data-field": "name", spellcheck: "false", title: t("panel.renameTitle"),
      onkeydown: (e) => {
        if (e.key === "Enter") { e.preventDefault(); e.target.blur(); }
        if (e.key === "Escape") { e.target.value = node.id; e.target.blur(); }
      },
      onchange: (e) => this.ctl.rename(node.id, e.target.value.trim(), e.target),
    });
    const head = h("div", { class: "panel-head" },
      h("span", { class: "op-chip", text: op?.symbol || node.op }),
      h("div", { class: "grow" },
        h("label", { for: "panel-name", class: "small", text: t("panel.id") }),
        nameField,
        h("div", { class: "hint", id: "panel-name-error", role: "alert" })));
    this.root.append(h("h2", { class: "visually-hidden", text: t("panel.node") }), head);
    this.root.append(h("p", { class: "op-name" }, h("strong", { text: op?.name || node.op }), op?.description ? ` — ${tOr(`op.${op.name}`, op.description)}` : ""));

    if (leaf) {
      const draft = S.drafts.get(node.id);
      const text = draft ?? valueText(node.value);
      const field = h("textarea", {
        id: "panel-value", "data-field": "value", rows: String(Math.min(8, text.split("\n").length)), spellcheck: "false",
        "aria-describedby": "panel-value-help panel-value-error",
        oninput: (e) => this.ctl.editValue(node.id, e.target.value, "panel"),
        onkeydown: (e) => {
          if (e.key === "Enter" && !e.shiftKey && !e.target.value.includes("[")) { e.preventDefault(); e.target.blur(); }
        },
      });
      field.value = text;
      this.root.append(h("div", { class: "field" },
        h("label", { for: "panel-value", text: t("panel.value") }), field,
        h("div", { class: "hint", id: "panel-value-help", text: t("panel.valueHelp") }),
        h("div", { class: "field-error", id: "panel-value-error", role: "alert", text: S.draftErrors.get(node.id) || "" })));
    }

    if (op && op.arity > 0) {
      const box = h("fieldset", { class: "inputs" }, h("legend", { text: t("panel.inputs") }));
      for (let slot = 0; slot < op.arity; slot++) {
        const id = `panel-slot-${slot}`;
        const sel = h("select", { id, "data-field": `slot${slot}`, onchange: (e) => this.ctl.wire(node.id, slot, e.target.value || null) },
          h("option", { value: "", text: t("panel.none") }),
          doc.graph.nodes.filter((n) => n.id !== node.id && !this.ctl.dependsOn(n.id, node.id)).map((n) => h("option", { value: n.id, text: n.id })));
        sel.value = node.inputs?.[slot] ?? "";
        box.append(h("div", { class: "slot-row" },
          h("span", { class: "slot-name" }, h("span", { class: "slot-index", title: t("port.in", { slot: slotName(op, slot), index: slot }), text: String(slot) }), h("label", { for: id, text: slotName(op, slot) })),
          sel));
      }
      this.root.append(box);
    }

    const params = Object.entries(op?.params || {});
    if (params.length) {
      const box = h("fieldset", { class: "params" }, h("legend", { text: t("panel.params") }));
      for (const [name, spec] of params) {
        const id = `panel-param-${name}`;
        const cur = node.params?.[name] ?? spec.default;
        const f = h("input", {
          id, type: "text", "data-field": `param-${name}`, spellcheck: "false",
          value: cur === null || cur === undefined ? "" : JSON.stringify(cur),
          oninput: (e) => this.ctl.editParam(node.id, name, e.target.value, spec),
        });
        box.append(h("div", { class: "slot-row" }, h("label", { for: id, text: name }), f));
      }
      this.root.append(box);
    }

    if (op && op.arity > 0) {
      this.root.append(
        h("h3", { text: t("panel.forward") }), tex(op.forward_latex, op.forward),
        h("h3", { text: t("panel.backward") }), tex(op.backward_latex, op.backward));
    }

    const outRow = doc.graph.output === node.id || this.ctl.outputId() === node.id
      ? h("p", { class: "note", text: t("panel.isOutput") })
      : h("button", { type: "button", class: "btn", onclick: () => this.ctl.setOutput(node.id), text: t("panel.makeOutput") });
    this.root.append(h("div", { class: "computed", id: "panel-computed" }));
    this.root.append(h("div", { class: "actions" }, outRow,
      h("button", { type: "button", class: "btn danger", onclick: () => this.ctl.deleteNode(node.id), text: t("panel.delete") })));
    this.renderComputed();
  }

  renderEdge(key) {
    const [from, to, slot] = key.split(">");
    const op = this.ctl.ops()[this.ctl.doc.node(to)?.op];
    this.root.append(
      h("h2", { text: t("panel.edge") }),
      h("p", { text: t("panel.edgeFrom", { from, to, slot: `${slot} (${slotName(op, Number(slot))})` }) }),
      h("div", { class: "computed", id: "panel-computed" }),
      h("div", { class: "actions" }, h("button", { type: "button", class: "btn danger", onclick: () => this.ctl.deleteEdge(to, Number(slot)), text: t("panel.deleteEdge") })));
    this.renderComputed();
  }

  /** Only the numbers: called after every evaluation, without touching the fields. */
  renderComputed() {
    const box = this.root.querySelector("#panel-computed");
    if (!box) return;
    const { S } = this.ctl;
    const r = S.result;
    let value = null, grad = null;
    if (S.selected) {
      value = r?.nodes?.[S.selected]?.value;
      grad = r?.nodes?.[S.selected]?.grad;
    } else if (S.selectedEdge) {
      const e = r?.edges?.find((x) => `${x.from}>${x.to}>${x.slot}` === S.selectedEdge);
      value = e?.value;
      grad = e?.grad;
    }
    const parts = [];
    if (value === undefined && grad === undefined) parts.push(h("p", { class: "muted", text: t("panel.noValue") }));
    else {
      parts.push(h("h3", { class: "value-title", text: t("panel.computedValue") }), matrix(value, "value"));
      parts.push(h("h3", { class: "grad-title", text: t("panel.computedGrad") }), grad == null ? h("p", { class: "muted", text: t("edge.noGrad") }) : matrix(grad, "grad"));
    }
    const chk = S.selected && S.checkResult?.[S.selected];
    if (chk) {
      parts.push(h("h3", { text: t("panel.check") }),
        h("table", { class: "check-table" + (chk.ok ? "" : " bad") }, h("tbody", {},
          h("tr", {}, h("th", { text: t("panel.checkBackprop") }), h("td", { title: full(chk.backprop), text: compact(chk.backprop, 6) })),
          h("tr", {}, h("th", { text: t("panel.checkNumerical") }), h("td", { title: full(chk.numerical), text: compact(chk.numerical, 6) })),
          h("tr", {}, h("th", { text: t("panel.checkError") }), h("td", { title: full(chk.max_rel_error), text: fmt(chk.max_rel_error) })))));
    }
    box.classList.toggle("stale", S.stale);
    box.replaceChildren(...parts);
  }
}

export { parseValue };
