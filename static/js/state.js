// The graph being edited, with undo and redo. The graph is plain contract
// JSON ({nodes, output, grad}); every change goes through `change()` so it is
// recorded, saved and re-evaluated.

const clone = (x) => structuredClone(x);
const ID_RE = /^[A-Za-z_][\w.-]{0,63}$/;

export function sinks(graph) {
  const used = new Set(graph.nodes.flatMap((n) => n.inputs || []));
  return graph.nodes.filter((n) => !used.has(n.id)).map((n) => n.id);
}

/**
 * The node the backward pass starts from: the chosen output, else the only
 * sink, else the first complete operation among the sinks, so that a node
 * just added from the palette does not take over the graph on screen.
 */
export function effectiveOutput(graph, arity) {
  if (graph.output != null && graph.nodes.some((n) => n.id === graph.output)) return graph.output;
  const s = sinks(graph);
  if (s.length <= 1) return s[0] ?? null;
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const complete = (n) => (n.inputs || []).filter((x) => x != null).length >= arity(n.op);
  const ops = s.filter((id) => !["input", "const"].includes(byId.get(id).op) && complete(byId.get(id)));
  return (ops.length ? ops : s)[0];
}

/**
 * The part of the graph the server can evaluate now: every node whose inputs
 * (transitively) are all connected. The rest waits for the user to finish.
 */
export function evaluable(graph, arity) {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const memo = new Map();
  const ok = (id, stack = new Set()) => {
    if (memo.has(id)) return memo.get(id);
    const n = byId.get(id);
    if (!n || stack.has(id)) return false;
    stack.add(id);
    const ins = n.inputs || [];
    const good = ins.filter((x) => x != null).length >= arity(n.op) && ins.every((x) => x != null && ok(x, stack));
    stack.delete(id);
    memo.set(id, good);
    return good;
  };
  return graph.nodes.filter((n) => ok(n.id)).map((n) => n.id);
}

/** Slots that are not connected yet: [{node, slot}] (arity from the op list). */
export function openSlots(graph, arity) {
  const open = [];
  for (const n of graph.nodes) {
    const k = arity(n.op);
    for (let slot = 0; slot < k; slot++) {
      if (!n.inputs || n.inputs[slot] == null) open.push({ node: n.id, slot });
    }
  }
  return open;
}

export function topoOrder(graph) {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const seen = new Set();
  const order = [];
  const visit = (id, stack = new Set()) => {
    if (seen.has(id) || stack.has(id) || !byId.has(id)) return;
    stack.add(id);
    for (const src of byId.get(id).inputs || []) if (src != null) visit(src, stack);
    stack.delete(id);
    seen.add(id);
    order.push(id);
  };
  graph.nodes.forEach((n) => visit(n.id));
  return order;
}

export class Doc {
  constructor(onChange) {
    this.graph = { nodes: [] };
    this.past = [];
    this.future = [];
    this.onChange = onChange;
    this.lastKey = null;
    this.lastTime = 0;
  }

  node(id) {
    return this.graph.nodes.find((n) => n.id === id);
  }

  /** Replace the whole graph (an example, an import); undoable. */
  load(graph, reason = "load") {
    this.change((g) => {
      g.nodes = clone(graph.nodes || []);
      delete g.output;
      delete g.grad;
      if (graph.output != null) g.output = graph.output;
      if (graph.grad != null) g.grad = clone(graph.grad);
    }, { reason });
  }

  /**
   * Apply `mutate` to a copy of the graph. Calls with the same `coalesce` key
   * within a second share one undo step (typing into a value field).
   */
  change(mutate, { coalesce = null, reason = "edit", relayout = false } = {}) {
    const before = clone(this.graph);
    const next = clone(this.graph);
    const result = mutate(next);
    if (result === false) return false;
    const now = Date.now();
    const merge = coalesce && coalesce === this.lastKey && now - this.lastTime < 1000;
    if (!merge) this.past.push(before);
    if (this.past.length > 200) this.past.shift();
    this.future = [];
    this.lastKey = coalesce;
    this.lastTime = now;
    this.graph = next;
    this.onChange({ reason, relayout });
    return true;
  }

  undo() {
    if (!this.past.length) return false;
    this.future.push(clone(this.graph));
    this.graph = this.past.pop();
    this.lastKey = null;
    this.onChange({ reason: "undo" });
    return true;
  }

  redo() {
    if (!this.future.length) return false;
    this.past.push(clone(this.graph));
    this.graph = this.future.pop();
    this.lastKey = null;
    this.onChange({ reason: "redo" });
    return true;
  }

  freshId(base) {
    const ids = new Set(this.graph.nodes.map((n) => n.id));
    const stem = base.replace(/[^\w]/g, "_");
    if (!ids.has(stem) && !/\d$/.test(stem)) return stem;
    for (let k = 1; ; k++) if (!ids.has(`${stem}${k}`)) return `${stem}${k}`;
  }

  addNode(op, spec, pos = null) {
    let id;
    if (op.name === "input" || op.name === "const") {
      id = ["x", "y", "z", "w", "v", "u"].find((c) => !this.node(c)) || this.freshId("x");
    } else id = this.freshId(op.name);
    this.change((g) => {
      const node = { id, op: op.name };
      if (op.arity === 0) node.value = spec?.value ?? 1;
      else node.inputs = Array(op.arity).fill(null);
      const params = Object.fromEntries(
        Object.entries(op.params || {}).filter(([, p]) => p && p.default !== undefined && p.default !== null).map(([k, p]) => [k, p.default]),
      );
      if (Object.keys(params).length) node.params = params;
      if (pos) node.pos = pos;
      g.nodes.push(node);
    }, { reason: "add" });
    return id;
  }

  connect(from, to, slot, arity) {
    if (from === to) return false;
    // refuse a cycle: `to` must not feed `from`
    const feeds = (a, b) => a === b || (this.node(b)?.inputs || []).some((s) => s != null && feeds(a, s));
    if (feeds(to, from)) return "cycle";
    return this.change((g) => {
      const n = g.nodes.find((x) => x.id === to);
      n.inputs = n.inputs || [];
      while (n.inputs.length < arity) n.inputs.push(null);
      n.inputs[slot] = from;
    }, { reason: "connect" });
  }

  disconnect(to, slot) {
    return this.change((g) => {
      const n = g.nodes.find((x) => x.id === to);
      if (!n?.inputs || n.inputs[slot] == null) return false;
      n.inputs[slot] = null;
    }, { reason: "disconnect" });
  }

  deleteNode(id) {
    return this.change((g) => {
      g.nodes = g.nodes.filter((n) => n.id !== id);
      for (const n of g.nodes) if (n.inputs) n.inputs = n.inputs.map((s) => (s === id ? null : s));
      if (g.output === id) {
        delete g.output;
        }
    }, { reason: "delete" });
  }

  setValue(id, value) {
    return this.change((g) => {
      g.nodes.find((n) => n.id === id).value = value;
    }, { coalesce: `value:${id}`, reason: "value" });
  }

  setParam(id, key, value) {
    return this.change((g) => {
      const n = g.nodes.find((x) => x.id === id);
      n.params = { ...(n.params || {}), [key]: value };
      if (value === null || value === undefined) delete n.params[key];
    }, { coalesce: `param:${id}:${key}`, reason: "param" });
  }

  /** Returns null when done, else a message id saying why not. */
  rename(oldId, newId) {
    if (newId === oldId) return null;
    if (!ID_RE.test(newId)) return "error.badId";
    if (this.node(newId)) return "error.idTaken";
    this.change((g) => {
      for (const n of g.nodes) {
        if (n.id === oldId) n.id = newId;
        if (n.inputs) n.inputs = n.inputs.map((s) => (s === oldId ? newId : s));
      }
      if (g.output === oldId) g.output = newId;
    }, { reason: "rename" });
    return null;
  }

  setOutput(id) {
    return this.change((g) => {
      g.output = id;
    }, { reason: "output" });
  }

  move(id, pos) {
    return this.change((g) => {
      g.nodes.find((n) => n.id === id).pos = { x: Math.round(pos.x), y: Math.round(pos.y) };
    }, { reason: "move" });
  }

  relayout() {
    return this.change((g) => {
      if (!g.nodes.some((n) => n.pos)) return false;
      for (const n of g.nodes) delete n.pos;
    }, { reason: "relayout", relayout: true });
  }
}
