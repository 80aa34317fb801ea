// Follow one run: its recorded history first (GET /api/runs/{id}), then its event stream from
// the last event that history contained, so a reload or a lost connection leaves no gap and
// repeats no point. Loss batches carry `start`, the index of their first value: a batch that
// overlaps what we have only adds its new tail.

import { ApiError } from "./api.js";
import { FINAL, runsApi } from "./train-api.js";

export class RunData {
  constructor(detail) {
    this.id = detail.id;
    this.config = detail.config;
    this.status = detail.status;
    this.position = detail.position;
    this.final = detail.final;
    this.summary = detail.summary;
    this.error = detail.error;
    this.timings = detail.timings;
    this.started = detail.started;
    this.losses = [...detail.metrics.loss];
    this.epochs = [...detail.metrics.epochs];
    this.lastEventId = detail.last_event_id;
    this.rate = new Rate();
  }

  get iterations() {
    return this.config.iterations;
  }

  /** Append a batch of losses; returns how many points were new. */
  addLosses(start, values) {
    const have = this.losses.length;
    if (start > have) return -1; // a hole: the caller resynchronises from the run's history
    const fresh = values.slice(have - start);
    for (const v of fresh) this.losses.push(v);
    if (fresh.length) this.rate.sample(this.losses.length);
    return fresh.length;
  }

  addEpoch(e) {
    const last = this.epochs[this.epochs.length - 1];
    if (last && e.iteration <= last.iteration) return false;
    this.epochs.push(e);
    return true;
  }
}

/** Iterations per second over the last few seconds of arrivals. */
class Rate {
  constructor(window = 6000) {
    this.window = window;
    this.samples = [];
  }

  sample(iteration, now = performance.now()) {
    this.samples.push([now, iteration]);
    while (this.samples.length > 2 && now - this.samples[0][0] > this.window) this.samples.shift();
  }

  perSecond() {
    if (this.samples.length < 2) return null;
    const [t0, i0] = this.samples[0];
    const [t1, i1] = this.samples[this.samples.length - 1];
    return t1 > t0 && i1 > i0 ? ((i1 - i0) * 1000) / (t1 - t0) : null;
  }
}

/**
 * handlers: reset(run) once the history is in (again after a resync); losses(run, n);
 * epoch(run, e); status(run); final(run); connection(state: "live" | "reconnecting" | "closed");
 * error(err).
 */
export class RunFollower {
  constructor(id, handlers) {
    this.id = id;
    this.h = handlers;
    this.source = null;
    this.closed = false;
    this.retry = 0;
    this.timer = 0;
  }

  async start() {
    let detail;
    try {
      detail = await runsApi.get(this.id);
    } catch (err) {
      if (this.closed) return;
      if (err instanceof ApiError && err.status === 404) {
        this.h.error?.(err);
        return;
      }
      this.reconnectLater();
      return;
    }
    if (this.closed) return;
    this.run = new RunData(detail);
    this.h.reset?.(this.run);
    if (FINAL.has(this.run.status)) {
      this.h.connection?.("closed");
      return;
    }
    this.open();
  }

  open() {
    if (this.closed) return;
    this.source?.close();
    const es = new EventSource(runsApi.eventsUrl(this.id, this.run.lastEventId));
    this.source = es;
    const seen = (e) => {
      const id = Number(e.lastEventId);
      if (Number.isFinite(id) && id > this.run.lastEventId) this.run.lastEventId = id;
      this.retry = 0;
      return JSON.parse(e.data);
    };
    es.onopen = () => this.h.connection?.("live");
    es.addEventListener("status", (e) => {
      const d = seen(e);
      this.run.status = d.status;
      this.run.position = d.position ?? null;
      this.h.status?.(this.run);
    });
    es.addEventListener("loss", (e) => {
      const d = seen(e);
      const n = this.run.addLosses(d.start, d.values);
      if (n < 0) this.resync();
      else if (n > 0) this.h.losses?.(this.run, n);
    });
    es.addEventListener("epoch", (e) => {
      const d = seen(e);
      if (this.run.addEpoch(d)) this.h.epoch?.(this.run, d);
    });
    for (const kind of FINAL) {
      es.addEventListener(kind, (e) => {
        const d = seen(e);
        es.close();
        this.source = null;
        this.run.status = kind;
        this.run.summary = d;
        if (d.train_acc != null || d.test_acc != null) this.run.final = { train_acc: d.train_acc, test_acc: d.test_acc, loss: d.loss };
        this.h.final?.(this.run);
        this.h.connection?.("closed");
      });
    }
    es.onerror = () => {
      if (this.closed || this.source !== es) return;
      // The browser retries by itself (sending Last-Event-ID) unless the stream failed for good.
      this.h.connection?.("reconnecting");
      if (es.readyState === EventSource.CLOSED) {
        this.source = null;
        this.reconnectLater();
      }
    };
  }

  reconnectLater() {
    clearTimeout(this.timer);
    const delay = Math.min(10000, 500 * 2 ** this.retry++);
    this.timer = setTimeout(() => (this.run ? this.resync() : this.start()), delay);
  }

  /** Start over from the run's recorded history (after a hole or a failed stream). */
  async resync() {
    this.source?.close();
    this.source = null;
    await this.start();
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    this.source?.close();
    this.source = null;
  }
}
