// Streaming line charts on uPlot: sized by their container, coloured from the page's CSS
// variables (so light and dark both read well), redrawn at most once per animation frame.

import uPlot from "../vendor/uplot/uPlot.esm.js";
import { fmt } from "./format.js";

export const PALETTE_LIGHT = ["#2563eb", "#c2410c", "#15803d", "#9333ea", "#0e7490", "#be123c", "#a16207", "#4b5563"];
export const PALETTE_DARK = ["#7cb2ff", "#ff9d5c", "#4ade80", "#c084fc", "#22d3ee", "#fb7185", "#facc15", "#cbd5e1"];

const dark = () => matchMedia("(prefers-color-scheme: dark)").matches;
export const palette = () => (dark() ? PALETTE_DARK : PALETTE_LIGHT);

export function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** Exponential moving average with TensorBoard's debiasing, one point at a time. */
export class Smoother {
  constructor(weight = 0.9) {
    this.weight = weight;
    this.reset();
  }

  reset() {
    this.last = 0;
    this.n = 0;
  }

  push(v) {
    this.n += 1;
    this.last = this.last * this.weight + (1 - this.weight) * v;
    return this.last / (1 - this.weight ** this.n);
  }
}

export function smooth(values, weight) {
  const s = new Smoother(weight);
  return values.map((v) => (v == null ? null : s.push(v)));
}

/**
 * A uPlot chart that fills `container`. `series`: [{label, color, width, dash, points, alpha}];
 * `y`: {log, min, max, format}; `x`: {label}. Call `set(data)` as often as you like: the
 * drawing happens once per animation frame with the newest data.
 */
export class LineChart {
  constructor(container, { series, y = {}, x = {}, height = 240, onDraw } = {}) {
    this.container = container;
    this.series = series;
    this.y = y;
    this.x = x;
    this.height = height;
    this.onDraw = onDraw;
    this.data = [[], ...series.map(() => [])];
    this.hidden = new Set();
    this.frame = 0;
    this.build();
    this.resizer = new ResizeObserver(() => this.resize());
    this.resizer.observe(container);
    this.scheme = matchMedia("(prefers-color-scheme: dark)");
    this.onScheme = () => this.build();
    this.scheme.addEventListener("change", this.onScheme);
  }

  options() {
    const text = cssVar("--muted") || "#5d6673";
    const grid = cssVar("--border") || "#d9dde3";
    const colors = palette();
    const yfmt = this.y.format || ((v) => fmt(v));
    const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font: "12px system-ui, sans-serif" };
    const width = Math.max(200, Math.floor(this.container.clientWidth || 300));
    return {
      width,
      height: this.height,
      legend: { show: true, live: true },
      cursor: { drag: { x: true, y: false }, points: { size: 6 } },
      scales: {
        x: { time: false },
        y: this.y.log
          ? { distr: 3, log: 10 }
          : { range: this.y.range || ((u, lo, hi) => (lo == null ? [0, 1] : [Math.min(0, lo), hi > lo ? hi + (hi - lo) * 0.05 : lo + 1])) },
      },
      axes: [
        { ...axis, label: this.x.label, labelSize: this.x.label ? 18 : 0, labelFont: "12px system-ui, sans-serif", values: (u, ticks) => ticks.map((v) => fmt(v)) },
        { ...axis, size: 52, values: (u, ticks) => ticks.map(yfmt) },
      ],
      series: [
        { label: this.x.label || "x", value: (u, v) => (v == null ? "—" : fmt(v)) },
        ...this.series.map((s, i) => ({
          label: s.label,
          stroke: s.color ?? colors[i % colors.length],
          width: s.width ?? 1.5,
          dash: s.dash,
          alpha: s.alpha,
          show: !this.hidden.has(i + 1),
          spanGaps: true,
          points: { show: s.points ?? false, size: 6, fill: s.color ?? colors[i % colors.length] },
          value: (u, v) => (v == null ? "—" : yfmt(v)),
        })),
      ],
    };
  }

  build() {
    this.plot?.destroy();
    this.container.replaceChildren();
    this.plot = new uPlot(this.options(), this.data, this.container);
  }

  resize() {
    const w = Math.floor(this.container.clientWidth);
    if (this.plot && w > 0 && Math.abs(w - this.plot.width) > 1) this.plot.setSize({ width: Math.max(200, w), height: this.height });
  }

  /** New data ([x, y1, y2, ...] arrays); drawn on the next animation frame. */
  set(data) {
    this.data = data;
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.plot.setData(this.data);
      this.onDraw?.(this.data);
    });
  }

  /** Draw pending data now (e.g. before a screenshot or when the tab was hidden). */
  flush() {
    if (!this.frame) return;
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.plot.setData(this.data);
    this.onDraw?.(this.data);
  }

  setLog(log) {
    if (!!this.y.log === !!log) return;
    this.y = { ...this.y, log };
    this.build();
  }

  show(index, visible) {
    if (visible) this.hidden.delete(index);
    else this.hidden.add(index);
    this.plot.setSeries(index, { show: visible });
  }

  /** Replace the series (a comparison with other runs) and redraw. */
  setSeries(series, data) {
    this.series = series;
    this.data = data;
    this.hidden.clear();
    this.build();
  }

  destroy() {
    cancelAnimationFrame(this.frame);
    this.resizer.disconnect();
    this.scheme.removeEventListener("change", this.onScheme);
    this.plot?.destroy();
  }
}

/** Align several [x, y] tables on the union of their x values (uPlot's own join). */
export function align(tables) {
  return tables.length ? uPlot.join(tables) : [[]];
}
