// Numbers for people: 220, 2.2, 110 — never 220.00000000000003.
// The full value stays available for titles via `full()`.

const SPECIAL = { NaN: "NaN", Infinity: "∞", "-Infinity": "-∞" };

/** Decode the API's number encoding ("NaN", "Infinity", "-Infinity" or a number). */
export function num(x) {
  if (x === "NaN") return NaN;
  if (x === "Infinity") return Infinity;
  if (x === "-Infinity") return -Infinity;
  return x;
}

function trimZeros(s) {
  // "2.200" -> "2.2", "1.500e-7" -> "1.5e-7", "220.0" -> "220"
  return s.replace(/(\.\d*?)0+(?=$|e)/, "$1").replace(/\.(?=$|e)/, "");
}

/** One scalar, at most 4 significant digits (whole numbers up to 1e6 stay whole). */
export function fmt(x) {
  if (x === null || x === undefined) return "";
  if (typeof x === "string") return SPECIAL[x] ?? x;
  if (typeof x === "boolean") return x ? "1" : "0";
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "∞" : "-∞";
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1e6 || a < 1e-3) return trimZeros(x.toExponential(3)).replace("e+", "e");
  if (a >= 1e4) return String(Math.round(x));
  const p = x.toPrecision(4); // 9999.9 -> "1.000e+4": whole numbers read better there
  const s = p.includes("e") ? String(Math.round(x)) : trimZeros(p);
  return s === "-0" ? "0" : s;
}

/** Full precision, for a title attribute. */
export function full(x) {
  if (x === null || x === undefined) return "";
  if (Array.isArray(x)) return JSON.stringify(x);
  return String(x);
}

export function shapeOf(v) {
  const shape = [];
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0];
  }
  return shape;
}

export function flat(v) {
  return Array.isArray(v) ? v.flat(Infinity) : [v];
}

export function shapeText(shape) {
  return shape.length ? shape.join("×") : "scalar";
}

/** A value of any rank in a few characters: "2.2" or "2×3 [0.1, 0.2, …]". */
export function compact(v, maxEntries = 3) {
  if (!Array.isArray(v)) return fmt(v);
  const items = flat(v);
  const head = items.slice(0, maxEntries).map(fmt).join(", ");
  return `${shapeText(shapeOf(v))} [${head}${items.length > maxEntries ? ", …" : ""}]`;
}

/** Parse what a person typed as a value: a number or a nested list (JSON or Python-ish). */
export function parseValue(text) {
  const s = String(text).trim();
  if (s === "") throw new Error("empty");
  if (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(s)) return Number(s);
  const json = s.replace(/\bnan\b/gi, '"NaN"').replace(/-inf\b/gi, '"-Infinity"').replace(/\binf\b/gi, '"Infinity"');
  const v = JSON.parse(json.replace(/,\s*]/g, "]"));
  const ok = (x) => (Array.isArray(x) ? x.length > 0 && x.every(ok) : typeof x === "number" || ["NaN", "Infinity", "-Infinity"].includes(x));
  if (!ok(v)) throw new Error("not a number or a list of numbers");
  const shape = (x) => (Array.isArray(x) ? [x.length, ...shape(x[0])] : []);
  const rect = (x, sh) => (sh.length === 0 ? !Array.isArray(x) : Array.isArray(x) && x.length === sh[0] && x.every((y) => rect(y, sh.slice(1))));
  if (!rect(v, shape(v))) throw new Error("rows differ in length");
  return v;
}

/** The inverse of parseValue, for the editing field: matrices one row per line. */
export function valueText(v) {
  if (!Array.isArray(v)) return full(v);
  if (Array.isArray(v[0]) && !Array.isArray(v[0][0])) {
    return "[" + v.map((row) => JSON.stringify(row)).join(",\n ") + "]";
  }
  return JSON.stringify(v);
}
