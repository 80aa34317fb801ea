// The JSON API, same origin. Every call resolves to data or throws an ApiError.

export class ApiError extends Error {
  constructor(status, detail, errors = []) {
    super(detail || `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
    this.errors = Array.isArray(errors) ? errors : [];
  }
}

async function call(method, url, body, { signal, text = false, headers = {} } = {}) {
  let response;
  try {
    response = await fetch(url, {
      method,
      signal,
      headers: { ...(body === undefined ? {} : { "Content-Type": "application/json" }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "network");
  }
  if (!response.ok) {
    let detail = "";
    let errors = [];
    try {
      const data = await response.json();
      detail = typeof data.detail === "string" ? data.detail : "";
      errors = data.errors || (Array.isArray(data.detail) ? data.detail.map((e) => ({ message: e.msg, field: (e.loc || []).join(".") })) : []);
    } catch {
      /* not JSON: keep the status */
    }
    throw new ApiError(response.status, detail || `HTTP ${response.status}`, errors);
  }
  return text ? response.text() : response.json();
}

/**
 * An API message about one node, as shown at that node: the engine starts it
 * with "node 'price' (mul): " (and some ops repeat "matmul: "), which the
 * drawing already says; cut, the words that name the problem fit at the node.
 */
export function atNode(message, id, op) {
  let s = String(message ?? "");
  const head = `node '${id}'`;
  if (s.startsWith(head)) {
    let rest = s.slice(head.length);
    if (op && rest.startsWith(` (${op})`)) rest = rest.slice(op.length + 3);
    if (!rest.startsWith(":")) return s;
    s = rest.slice(1).trimStart();
  }
  if (op && s.startsWith(`${op}: `)) s = s.slice(op.length + 2);
  return s || String(message ?? "");
}

/** A JSON call for other pages' API clients (the dashboard's runs); `headers` e.g. Authorization. */
export { call as request };

export const api = {
  ops: () => call("GET", "/api/ops"),
  examples: () => call("GET", "/api/examples"),
  example: (name) => call("GET", `/api/examples/${encodeURIComponent(name)}`),
  evaluate: (graph, { check = false, signal } = {}) =>
    call("POST", `/api/graphs/evaluate${check ? "?check=true" : ""}`, graph, { signal }),
  expression: (expression, values) => call("POST", "/api/expressions", { expression, values }),
  save: (graph) => call("POST", "/api/graphs", graph),
  load: (id) => call("GET", `/api/graphs/${encodeURIComponent(id)}`),
  python: (graph) => call("POST", "/api/graphs/export/python", graph, { text: true }),
};
