// A drawing pad for one digit: mouse, pen and touch through pointer events. White ink on a
// transparent canvas (the page paints it black), so the alpha channel is the ink.

const STROKE = 0.085; // of the pad's width: about MNIST's stroke once the digit is fitted into 20×20

export class DrawPad {
  /** onChange(final): while drawing and when a stroke ends; the caller reads ink() when it wants it. */
  constructor(canvas, { onChange, onClear } = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d", { willReadFrequently: true });
    this.onChange = onChange;
    this.onClear = onClear;
    this.drawing = null;
    this.strokes = 0;
    canvas.addEventListener("pointerdown", (e) => this.down(e));
    canvas.addEventListener("pointermove", (e) => this.move(e));
    canvas.addEventListener("pointerup", (e) => this.up(e));
    canvas.addEventListener("pointercancel", (e) => this.up(e));
    canvas.addEventListener("keydown", (e) => {
      if (e.key === "Delete" || e.key === "Backspace" || e.key === "Escape") {
        e.preventDefault();
        this.clear();
      }
    });
  }

  point(e) {
    const r = this.canvas.getBoundingClientRect();
    return { x: ((e.clientX - r.left) / r.width) * this.canvas.width, y: ((e.clientY - r.top) / r.height) * this.canvas.height };
  }

  style() {
    const c = this.ctx;
    c.strokeStyle = c.fillStyle = "#fff";
    c.lineCap = c.lineJoin = "round";
    c.lineWidth = this.canvas.width * STROKE;
  }

  down(e) {
    if (e.button !== undefined && e.button !== 0 && e.pointerType === "mouse") return;
    e.preventDefault();
    try {
      this.canvas.setPointerCapture(e.pointerId); // keep the stroke when it leaves the pad
    } catch {
      /* a pointer the browser no longer tracks (or a synthetic one): draw without capture */
    }
    this.style();
    const p = this.point(e);
    this.drawing = { id: e.pointerId, last: p };
    // a dot for a tap
    this.ctx.beginPath();
    this.ctx.arc(p.x, p.y, this.ctx.lineWidth / 2, 0, Math.PI * 2);
    this.ctx.fill();
    this.strokes += 1;
    this.changed(false);
  }

  move(e) {
    if (!this.drawing || e.pointerId !== this.drawing.id) return;
    e.preventDefault();
    const events = e.getCoalescedEvents?.() || [e];
    const c = this.ctx;
    c.beginPath();
    c.moveTo(this.drawing.last.x, this.drawing.last.y);
    for (const ev of events.length ? events : [e]) {
      const p = this.point(ev);
      c.lineTo(p.x, p.y);
      this.drawing.last = p;
    }
    c.stroke();
    this.changed(false);
  }

  up(e) {
    if (!this.drawing || e.pointerId !== this.drawing.id) return;
    this.drawing = null;
    this.changed(true);
  }

  /** The ink as w×h values in [0, 1]. */
  ink() {
    const { width: w, height: h } = this.canvas;
    const data = this.ctx.getImageData(0, 0, w, h).data;
    const ink = new Float32Array(w * h);
    for (let i = 0; i < w * h; i++) ink[i] = data[4 * i + 3] / 255;
    return { ink, w, h };
  }

  changed(final) {
    this.onChange?.(final);
  }

  isEmpty() {
    return this.strokes === 0;
  }

  clear() {
    this.ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    this.strokes = 0;
    this.onClear?.();
  }
}
