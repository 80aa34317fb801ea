// Every string the interface shows, keyed by message id, so a later issue can
// add a Chinese catalogue beside the English one without touching the code.
// Templates mark their texts with data-i18n (text), data-i18n-title,
// data-i18n-placeholder and data-i18n-aria-label; `applyI18n` fills them.

const en = {
  "app.name": "Backprop Lab",
  "nav.editor": "Editor",
  "nav.train": "Train",
  "nav.net": "Net",
  "nav.lessons": "Lessons",

  "placeholder.back": "Open the graph editor",
  "placeholder.train.title": "Training dashboard",
  "placeholder.train.text": "The live training dashboard is not built yet (issue 6). Until then, train from the command line or the API.",
  "placeholder.net.title": "Inside the net",
  "placeholder.net.text": "The view inside the trained two-layer net is not built yet (issue 6).",
  "placeholder.lessons.title": "Lessons",
  "placeholder.lessons.text": "The chapter walkthrough is not built yet (issue 8). The editor's examples follow the chapter's figures meanwhile.",

  "toolbar.label": "Graph tools",
  "toolbar.example": "Example",
  "toolbar.examplePick": "Choose an example…",
  "toolbar.expression": "Expression",
  "toolbar.expressionPlaceholder": "(x + y) ** 2",
  "toolbar.build": "Build",
  "toolbar.buildTitle": "Turn the expression into a graph (Enter)",
  "toolbar.undo": "Undo",
  "toolbar.undoTitle": "Undo (Ctrl+Z)",
  "toolbar.redo": "Redo",
  "toolbar.redoTitle": "Redo (Ctrl+Shift+Z)",
  "toolbar.relayout": "Re-layout",
  "toolbar.relayoutTitle": "Lay the graph out again, forgetting dragged positions (L)",
  "toolbar.zoom": "Zoom",
  "toolbar.zoomIn": "Zoom in (+)",
  "toolbar.zoomOut": "Zoom out (−)",
  "toolbar.zoomReset": "Fit to the canvas (0)",
  "toolbar.stepBack": "Step back",
  "toolbar.stepBackTitle": "Step back (←, in step mode)",
  "toolbar.play": "Play",
  "toolbar.pause": "Pause",
  "toolbar.playTitle": "Play the forward and backward pass step by step (P)",
  "toolbar.stepForward": "Step forward",
  "toolbar.stepForwardTitle": "Step forward (→, in step mode)",
  "toolbar.stepExit": "Show all",
  "toolbar.stepExitTitle": "Leave step mode and show every value and gradient (Esc)",
  "toolbar.check": "Gradient check",
  "toolbar.checkTitle": "Compare backprop's gradients with numerical ones (G)",
  "toolbar.import": "Import",
  "toolbar.importTitle": "Open a graph JSON file",
  "toolbar.export": "Export",
  "toolbar.exportJson": "Graph JSON",
  "toolbar.exportSvg": "Picture (SVG)",
  "toolbar.exportPng": "Picture (PNG)",
  "toolbar.exportPython": "Python script",
  "toolbar.share": "Share",
  "toolbar.shareTitle": "Make a link that opens this graph",

  "palette.title": "Add a node",
  "palette.hint": "Click an op to add it. Then click a node's output ● and an input slot ○ to connect them.",
  "palette.group.leaf": "Values",
  "palette.group.basic": "Arithmetic",
  "palette.group.func": "Functions",
  "palette.group.tensor": "Tensors",
  "palette.group.loss": "Losses",
  "palette.add": "Add a {op} node",

  "legend.value": "value (forward)",
  "legend.grad": "gradient (backward)",
  "legend.output": "output",
  "legend.label": "Legend",

  "canvas.label": "Computation graph",
  "canvas.empty": "An empty graph. Pick an example, type an expression, or add nodes from the palette.",

  "panel.label": "Details",
  "panel.helpTitle": "How to use",
  "panel.help1": "Each edge shows the forward value above the line and the gradient below it.",
  "panel.help2": "Select a node to see its formula and local derivative, edit its value, rename it or wire its inputs.",
  "panel.help3": "Drag nodes to arrange them; Re-layout puts them back in order.",
  "panel.keysTitle": "Keyboard",
  "panel.keys": "Tab / Shift+Tab: move between nodes and edges · Enter: select · Delete: remove · E: edit value · O: make output · L: re-layout · P: play · ← →: step · G: gradient check · Ctrl+Z / Ctrl+Shift+Z: undo / redo · Esc: cancel",
  "panel.node": "Node",
  "panel.id": "Name",
  "panel.renameTitle": "Rename the node (Enter)",
  "panel.op": "Operation",
  "panel.value": "Value",
  "panel.valueHelp": "A number, or a matrix like [[1, 2], [3, 4]].",
  "panel.inputs": "Inputs",
  "panel.none": "— not connected —",
  "panel.params": "Options",
  "panel.forward": "Forward",
  "panel.backward": "Local derivative",
  "panel.computedValue": "Value",
  "panel.computedGrad": "Gradient",
  "panel.shape": "shape {shape}",
  "panel.makeOutput": "Make output",
  "panel.isOutput": "This node is the output: backprop starts here.",
  "panel.delete": "Delete node",
  "panel.edge": "Edge",
  "panel.edgeFrom": "{from} → {to}, input {slot}",
  "panel.deleteEdge": "Delete edge",
  "panel.check": "Gradient check",
  "panel.checkBackprop": "backprop",
  "panel.checkNumerical": "numerical",
  "panel.checkError": "max. relative error",
  "panel.noValue": "not evaluated yet",

  "step.title": "Step {k} of {n}",
  "step.forward": "Forward pass",
  "step.backward": "Backward pass",
  "step.start": "Press step forward (→) to start the forward pass.",
  "step.seed": "seed",
  "step.done": "Done: every value and gradient is filled in.",

  "port.in": "input {index}: {slot} — click after choosing an output to connect",
  "port.out": "output: click, then click an input slot to connect",
  "edge.noGrad": "label, no gradient",
  "a11y.skip": "Skip to content",
  "a11y.node": "{op} node {id}",
  "a11y.edge": "edge from {from} to {to}, input {slot}",

  "check.short": "bp {bp} · num {num}",
  "check.title": "backprop: {bp}\nnumerical: {num}\nmax. relative error: {err}",

  "share.title": "Share this graph",
  "share.saved": "Link to the graph saved on the server:",
  "share.inline": "Link that carries the graph itself (works without the server's store):",
  "share.copy": "Copy",
  "share.copied": "Copied",
  "share.close": "Close",
  "share.saveFailed": "The server did not save the graph ({detail}); the link below carries the graph itself.",

  "msg.evaluating": "Evaluating…",
  "msg.ok": "Evaluated {n} nodes in {ms} ms.",
  "msg.connectFrom": "Now click an input slot (○) of another node to connect {id}. Esc cancels.",
  "msg.connected": "Connected {from} to {to} ({slot}).",
  "msg.cycle": "That connection would make a cycle.",
  "msg.incomplete": "connect its inputs",
  "msg.waiting": "Some nodes wait for inputs: {ids}.",
  "msg.loadedExample": "Loaded the example “{title}”.",
  "msg.loadedShared": "Opened a shared graph.",
  "msg.imported": "Imported {name}.",
  "msg.exported": "Saved {name}.",
  "msg.restored": "Restored your last graph.",
  "msg.undo": "Undone.",
  "msg.redo": "Redone.",
  "msg.nothing": "Nothing to undo.",
  "msg.deleted": "Deleted {id}.",
  "msg.edgeDeleted": "Deleted the edge into {to}.",
  "msg.expressionBuilt": "Built a graph with {n} nodes.",
  "msg.needValue": "Give {name} a value.",
  "msg.warning": "Warning at {node}: {message}",

  "error.title": "The server could not evaluate the graph:",
  "error.network": "Cannot reach the server. Your graph is kept; it will be evaluated when the server answers.",
  "error.badValue": "Not a number or matrix: {reason}",
  "error.badId": "A name starts with a letter or _ and has only letters, digits, _ . -",
  "error.idTaken": "Another node already has that name.",
  "error.notGraph": "This file is not a graph JSON (it needs a list of nodes with id and op).",
  "error.badLink": "The link's graph could not be read.",
  "error.python": "Python export failed: {detail}",
  "error.expression": "Expression: {message}",
  "error.examples": "Could not load the examples: {detail}",
  "error.ops": "Could not load the list of operations: {detail}",
};

const catalogues = { en };
let current = en;

// Each area of the interface (dashboard, lessons, ...) keeps its own catalogue module
// and registers it here: addMessages("en", {...}); addMessages("zh", {...}).
export function addMessages(locale, dict) {
  catalogues[locale] = Object.assign(catalogues[locale] || {}, dict);
  if (locale === "en") Object.assign(en, dict);
}

export function setLocale(locale) {
  current = catalogues[locale] || en;
}

export function t(id, params = {}) {
  const text = current[id] ?? en[id] ?? id;
  return text.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
}

export function has(id) {
  return id in en;
}

export function applyI18n(root = document) {
  for (const [attr, target] of [["data-i18n", null], ["data-i18n-title", "title"], ["data-i18n-placeholder", "placeholder"], ["data-i18n-aria-label", "aria-label"]]) {
    root.querySelectorAll(`[${attr}]`).forEach((e) => {
      const text = t(e.getAttribute(attr));
      if (target) e.setAttribute(target, text);
      else e.textContent = text;
    });
  }
}

export const messages = { en };
