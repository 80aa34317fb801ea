// Keeping and sharing: files, pictures, links and the browser's own storage.

const STORE_KEY = "backprop-lab:graph";

export function download(filename, blob) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function saveLocal(graph) {
  try {
    localStorage.setItem(STORE_KEY, JSON.stringify(graph));
  } catch {
    /* private mode or full: nothing to keep */
  }
}

export function loadLocal() {
  try {
    const g = JSON.parse(localStorage.getItem(STORE_KEY) || "null");
    return g && Array.isArray(g.nodes) ? g : null;
  } catch {
    return null;
  }
}

export function toBase64Url(text) {
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromBase64Url(s) {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4);
  const bin = atob(b64);
  return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

export function hashLink(graph) {
  return `${location.origin}/#graph=${toBase64Url(JSON.stringify(graph))}`;
}

/** A graph named by the page address: ?g=<id> (saved on the server) or #graph=<base64url>. */
export function linkedGraph() {
  const id = new URLSearchParams(location.search).get("g");
  const m = /(?:^#|&)graph=([\w-]+)/.exec(location.hash);
  let inline = null;
  if (m) {
    try {
      inline = JSON.parse(fromBase64Url(m[1]));
    } catch {
      inline = "bad";
    }
  }
  return { id, inline };
}

/** Check that a parsed file looks like graph JSON; returns a message id or null. */
export function graphProblem(g) {
  if (!g || typeof g !== "object" || !Array.isArray(g.nodes)) return "error.notGraph";
  if (!g.nodes.every((n) => n && typeof n.id === "string" && typeof n.op === "string")) return "error.notGraph";
  return null;
}

// Properties that make the drawing look the same outside the page's CSS.
const PAINT = ["fill", "fill-opacity", "stroke", "stroke-width", "stroke-dasharray", "stroke-opacity", "opacity",
  "font-family", "font-size", "font-weight", "font-style", "paint-order", "stroke-linejoin", "visibility", "display"];

/** A standalone copy of the drawing: computed styles inlined, on the page's background. */
export function standaloneSvg(svg) {
  const copy = svg.cloneNode(true);
  const src = svg.querySelectorAll("*");
  const dst = copy.querySelectorAll("*");
  src.forEach((node, i) => {
    const cs = getComputedStyle(node);
    const style = PAINT.map((p) => `${p}:${cs.getPropertyValue(p)}`).join(";");
    dst[i].setAttribute("style", style);
  });
  copy.querySelectorAll(".port, .edge-hit").forEach((n) => n.remove());
  copy.querySelectorAll("[class], [tabindex], [role]").forEach((n) => {
    n.removeAttribute("class");
    n.removeAttribute("tabindex");
    n.removeAttribute("role");
  });
  const [x, y, w, h] = svg.getAttribute("viewBox").split(" ").map(Number);
  const bg = document.createElementNS("http://www.w3.org/2000/svg", "rect");
  Object.entries({ x, y, width: w, height: h, fill: getComputedStyle(svg).getPropertyValue("--canvas-bg") || "#fff" })
    .forEach(([k, v]) => bg.setAttribute(k, v));
  copy.insertBefore(bg, copy.firstChild);
  copy.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  copy.setAttribute("width", w);
  copy.setAttribute("height", h);
  copy.removeAttribute("style");
  return { text: new XMLSerializer().serializeToString(copy), width: w, height: h };
}

export function svgToPng(svgText, width, height, scale = 2) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    const url = URL.createObjectURL(new Blob([svgText], { type: "image/svg+xml" }));
    img.onload = () => {
      const canvas = document.createElement("canvas");
      canvas.width = Math.ceil(width * scale);
      canvas.height = Math.ceil(height * scale);
      const ctx = canvas.getContext("2d");
      ctx.scale(scale, scale);
      ctx.drawImage(img, 0, 0, width, height);
      URL.revokeObjectURL(url);
      canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("png"))), "image/png");
    };
    img.onerror = () => reject(new Error("svg image"));
    img.src = url;
  });
}
