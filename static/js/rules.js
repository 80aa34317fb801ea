// Each op's local backward rule, written with the names of its inputs and
// then again with their numbers plugged in: "dx = dout × y = 1.1 × 2".
// The result printed after the last "=" always comes from the API; these
// templates only say how it was obtained. {0},{1},{2}: inputs; {out}: the
// node's own value; {p}: its exponent.

import { compact, fmt, shapeOf, shapeText } from "./format.js";
import { t } from "./i18n.js";

const RULES = {
  add: { f: "{0} + {1}", b: ["dout", "dout"] },
  sub: { f: "{0} − {1}", b: ["dout", "−dout"] },
  mul: { f: "{0} × {1}", b: ["dout × {1}", "dout × {0}"] },
  div: { f: "{0} / {1}", b: ["dout / {1}", "−dout × {0} / {1}²"] },
  neg: { f: "−{0}", b: ["−dout"] },
  exp: { f: "exp({0})", b: ["dout × {out}"] },
  log: { f: "log({0})", b: ["dout / {0}"] },
  pow: { f: "{0}^{p}", b: ["dout × {p} × {0}^({p}−1)"] },
  reciprocal: { f: "1 / {0}", b: ["−dout × {out}²"] },
  square: { f: "{0}²", b: ["dout × 2 × {0}"] },
  sqrt: { f: "√{0}", b: ["dout / (2 × {out})"] },
  sigmoid: { f: "σ({0})", b: ["dout × {out} × (1 − {out})"] },
  relu: { f: "max(0, {0})", b: ["dout × [{0} > 0]"] },
  tanh: { f: "tanh({0})", b: ["dout × (1 − {out}²)"] },
  matmul: { f: "{0} · {1}", b: ["dout · {1}ᵀ", "{0}ᵀ · dout"] },
  affine: { f: "{0} · {1} + {2}", b: ["dout · {1}ᵀ", "{0}ᵀ · dout", "Σ₀ dout"] },
  sum: { f: "Σ {0}", b: ["dout, copied to every entry"] },
  mean: { f: "mean({0})", b: ["dout / n, copied to every entry"] },
  transpose: { f: "{0}ᵀ", b: ["doutᵀ"] },
  reshape: { f: "reshape({0})", b: ["reshape(dout) back"] },
  softmax: { f: "softmax({0})", b: ["{out} × (dout − Σ dout × {out})"] },
  softmax_with_loss: { f: "−Σ {1} log softmax({0}) / N", b: ["dout × (softmax({0}) − {1}) / N", null] },
  cross_entropy: { f: "−Σ {1} log {0} / N", b: ["−dout × {1} / {0} / N", null] },
  sum_squared_error: { f: "½ Σ ({0} − {1})²", b: ["dout × ({0} − {1})", "−dout × ({0} − {1})"] },
};

function plug(template, names, values, out, p, dout) {
  const show = (v) => (Array.isArray(v) ? `[${shapeText(shapeOf(v))}]` : fmt(v));
  return template.replace(/\{(\d|out|p)\}|dout/g, (m, key) => {
    if (m === "dout") return values ? show(dout) : "dout";
    if (key === "p") return fmt(p);
    if (key === "out") return values ? show(out.value) : out.name;
    return values ? show(values[key]) : names[key];
  });
}

/** Lines explaining one step of the step mode, or [] when there is nothing to say. */
export function explain(step, graph, result) {
  const node = graph.nodes.find((n) => n.id === step.node);
  const r = result.nodes[step.node];
  if (!node || !r) return [];
  if (step.seed) return [`d${node.id} = ${compact(r.grad)}  (${t("step.seed")})`];
  if (["input", "const"].includes(node.op)) {
    return step.phase === "forward" ? [`${node.id} = ${compact(r.value)}`] : [];
  }
  const rule = RULES[node.op];
  const ins = node.inputs || [];
  const vals = ins.map((id) => result.nodes[id]?.value);
  const out = { name: node.id, value: r.value };
  const p = node.params?.exponent ?? 2;
  if (step.phase === "forward") {
    if (!rule) return [`${node.id} = ${node.op}(${ins.join(", ")}) = ${compact(r.value)}`];
    return [`${node.id} = ${plug(rule.f, ins, null, out, p)} = ${plug(rule.f, ins, vals, out, p)} = ${compact(r.value)}`];
  }
  const lines = [];
  const edges = new Map(result.edges.map((e) => [`${e.from}>${e.to}>${e.slot}`, e]));
  ins.forEach((src, slot) => {
    const e = edges.get(`${src}>${node.id}>${slot}`);
    const tpl = rule?.b?.[slot];
    if (!e || e.grad == null || !tpl) {
      if (rule && tpl === null) lines.push(`d${src}: —  (${t("edge.noGrad")})`);
      return;
    }
    const sym = plug(tpl, ins, null, out, p);
    const numbers = plug(tpl, ins, vals, out, p, r.grad);
    lines.push(`d${src} = ${sym} = ${numbers} = ${compact(e.grad)}`);
  });
  return lines;
}

/**
 * The steps of the animation: forward node by node in topological order,
 * then the seed gradient, then backward node by node in reverse order.
 */
export function planSteps(result) {
  const steps = result.order.map((id) => ({ phase: "forward", node: id }));
  steps.push({ phase: "backward", node: result.output, seed: true });
  for (const id of [...result.order].reverse()) {
    if (result.edges.some((e) => e.to === id)) steps.push({ phase: "backward", node: id });
  }
  return steps;
}

/** What is visible after the first `k` steps. */
export function stepState(steps, k, result) {
  const values = new Set();
  const grads = new Set();
  for (const s of steps.slice(0, k)) {
    if (s.phase === "forward") values.add(s.node);
    else if (s.seed) grads.add("seed");
    else for (const e of result.edges) if (e.to === s.node) grads.add(`${e.from}>${e.to}>${e.slot}`);
  }
  const current = k > 0 ? steps[k - 1] : null;
  return { values, grads, current: current?.node ?? null, phase: current?.phase ?? null, step: current };
}
