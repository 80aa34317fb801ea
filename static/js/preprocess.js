// A drawing made into an MNIST image, the way MNIST's digits were made (LeCun et al.):
// the digit's bounding box is fitted into 20×20 pixels keeping its aspect ratio (with
// anti-aliasing: each new pixel averages the area it covers), then placed in 28×28 so that
// its centre of mass sits at the centre. Pixels are ink in [0, 1], 0 = background.

export const SIZE = 28;
export const BOX = 20;
const THRESHOLD = 0.05; // ink below this does not count for the bounding box

/** The bounding box of the ink: {x0, y0, x1, y1} (exclusive ends), or null when there is none. */
export function boundingBox(ink, w, h, threshold = THRESHOLD) {
  let x0 = w, y0 = h, x1 = -1, y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (ink[y * w + x] > threshold) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? null : { x0, y0, x1: x1 + 1, y1: y1 + 1 };
}

/** Weights of an area-averaging resample of n samples to m: for each output, [[index, weight], ...]. */
function areaWeights(n, m) {
  const scale = n / m;
  const out = [];
  for (let j = 0; j < m; j++) {
    const a = j * scale, b = (j + 1) * scale;
    const taps = [];
    for (let i = Math.floor(a); i < Math.min(n, Math.ceil(b)); i++) {
      const cover = Math.min(b, i + 1) - Math.max(a, i);
      if (cover > 0) taps.push([i, cover / scale]);
    }
    out.push(taps);
  }
  return out;
}

/** Resize a w×h image to tw×th by averaging areas (separable: rows, then columns). */
export function resample(src, w, h, tw, th) {
  const wx = areaWeights(w, tw), wy = areaWeights(h, th);
  const rows = new Float32Array(h * tw);
  for (let y = 0; y < h; y++) {
    for (let j = 0; j < tw; j++) {
      let s = 0;
      for (const [i, k] of wx[j]) s += src[y * w + i] * k;
      rows[y * tw + j] = s;
    }
  }
  const out = new Float32Array(tw * th);
  for (let j = 0; j < th; j++) {
    for (let x = 0; x < tw; x++) {
      let s = 0;
      for (const [i, k] of wy[j]) s += rows[i * tw + x] * k;
      out[j * tw + x] = s;
    }
  }
  return out;
}

/** Centre of mass (x, y) in pixel coordinates where pixel i covers [i, i + 1). */
export function centreOfMass(img, w, h) {
  let m = 0, sx = 0, sy = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = img[y * w + x];
      m += v;
      sx += v * (x + 0.5);
      sy += v * (y + 0.5);
    }
  }
  return m > 0 ? { x: sx / m, y: sy / m } : { x: w / 2, y: h / 2 };
}

/**
 * `ink`: w×h values in [0, 1] (row-major). Returns 784 numbers in [0, 1] as MNIST has them,
 * or null when nothing is drawn.
 */
export function toMnist(ink, w, h) {
  const box = boundingBox(ink, w, h);
  if (!box) return null;
  const bw = box.x1 - box.x0, bh = box.y1 - box.y0;
  const crop = new Float32Array(bw * bh);
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) crop[y * bw + x] = ink[(box.y0 + y) * w + box.x0 + x];
  }
  const scale = BOX / Math.max(bw, bh);
  const tw = Math.max(1, Math.min(BOX, Math.round(bw * scale)));
  const th = Math.max(1, Math.min(BOX, Math.round(bh * scale)));
  const small = resample(crop, bw, bh, tw, th);
  // shift so the centre of mass lands on the centre, keeping the whole digit inside the 28×28
  const c = centreOfMass(small, tw, th);
  const ox = Math.max(0, Math.min(SIZE - tw, Math.round(SIZE / 2 - c.x)));
  const oy = Math.max(0, Math.min(SIZE - th, Math.round(SIZE / 2 - c.y)));
  const out = new Array(SIZE * SIZE).fill(0);
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) out[(oy + y) * SIZE + ox + x] = Math.min(1, Math.max(0, small[y * tw + x]));
  }
  return out;
}

/** Paint 784 values in [0, 1] (or bytes with `max` 255) on a 28×28 canvas: white ink on black. */
export function paint(canvas, pixels, max = 1) {
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(SIZE, SIZE);
  for (let i = 0; i < SIZE * SIZE; i++) {
    const v = Math.round((pixels[i] / max) * 255);
    img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = v;
    img.data[4 * i + 3] = 255;
  }
  canvas.width = SIZE;
  canvas.height = SIZE;
  ctx.putImageData(img, 0, 0);
}
