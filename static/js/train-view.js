// The run being watched: status, progress with speed and time left, live loss and accuracy
// curves, final figures, stop and downloads. The charts container mirrors what is drawn in
// data-points / data-last-loss / data-last-test-acc for tests.

import { LineChart, palette, Smoother } from "./charts.js";
import { fmt } from "./format.js";
import { t } from "./i18n.js";
import { ACTIVE, configSummary, FINAL, hasToken, pct, runsApi } from "./train-api.js";
import { RunFollower } from "./train-stream.js";

const $ = (s) => document.querySelector(s);
const SMOOTHING = 0.95;
const nf = (n) => Number(n).toLocaleString("en-US");

export function duration(seconds) {
  if (seconds == null || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return t("train.dur.s", { s: seconds < 10 ? Math.max(0, seconds).toFixed(1) : s });
  if (s < 3600) return t("train.dur.m", { m: Math.floor(s / 60), s: s % 60 });
  return t("train.dur.h", { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
}

export function statusText(status, position) {
  return status === "queued" && position ? t("train.status.queuedAt", { position }) : t(`train.status.${status}`);
}

export class RunView {
  constructor({ onChange } = {}) {
    this.onChange = onChange;
    this.follower = null;
    this.run = null;
    this.charts = $("#charts");
    this.xs = [];
    this.raw = [];
    this.smooth = [];
    this.smoother = new Smoother(SMOOTHING);
    this.loss = new LineChart($("#loss-chart"), {
      series: this.lossSeries(), x: { label: t("train.axis.iteration") }, height: 250,
      onDraw: (d) => {
        const n = d[0].length;
        this.charts.dataset.points = String(n);
        this.charts.dataset.lastLoss = n ? String(d[1][n - 1]) : "";
        this.waitTexts();
      },
    });
    this.acc = new LineChart($("#acc-chart"), {
      series: [{ label: t("train.acc.train"), points: true, color: palette()[2] }, { label: t("train.acc.test"), points: true, color: palette()[1] }],
      x: { label: t("train.axis.iteration") }, height: 250,
      y: { format: (v) => pct(v, 0), range: (u, lo) => [lo == null ? 0 : Math.max(0, Math.floor((lo - 0.02) * 20) / 20), 1] },
      onDraw: (d) => {
        const n = d[0].length;
        this.charts.dataset.lastTestAcc = n ? String(d[2][n - 1]) : "";
        this.waitTexts();
      },
    });
    $("#show-raw").addEventListener("change", (e) => this.loss.show(1, e.target.checked));
    $("#show-smooth").addEventListener("change", (e) => this.loss.show(2, e.target.checked));
    $("#log-scale").addEventListener("change", (e) => this.loss.setLog(e.target.checked));
    $("#stop").addEventListener("click", () => this.stop());
    // a clock for "time left" and the elapsed time, between events too
    setInterval(() => this.run && ACTIVE.has(this.run.status) && this.progress(), 1000);
  }

  lossSeries() {
    const c = palette()[0];
    return [{ label: t("train.loss.raw"), color: c, alpha: 0.3, width: 1 }, { label: t("train.loss.smooth"), color: c, width: 2 }];
  }

  follow(id) {
    if (this.follower?.id === id) return;
    this.follower?.close();
    this.run = null;
    $("#run-empty").hidden = true;
    $("#run-body").hidden = false;
    $("#run-id").textContent = id;
    $("#run-config").textContent = "";
    this.setStatus("loading");
    this.blank(); // the last run's curves must not pass for this one's while it loads
    this.follower = new RunFollower(id, {
      reset: (run) => this.reset(run),
      losses: (run, n) => this.addLosses(run, n),
      epoch: (run) => this.drawEpochs(run),
      status: (run) => this.changed(run),
      final: (run) => this.changed(run),
      connection: (state) => this.connection(state),
      error: () => this.missing(id),
    });
    this.follower.start();
  }

  blank() {
    this.xs = [];
    this.raw = [];
    this.smooth = [];
    this.smoother.reset();
    this.loss.set([this.xs, this.raw, this.smooth]);
    this.loss.flush();
    this.acc.set([[], [], []]);
    this.acc.flush();
  }

  clear() {
    this.follower?.close();
    this.follower = null;
    this.run = null;
    $("#run-empty").hidden = false;
    $("#run-body").hidden = true;
  }

  missing(id) {
    this.setStatus("missing");
    $("#run-message").hidden = false;
    $("#run-message").textContent = t("train.error.notFound", { id });
    this.onChange?.(null);
  }

  reset(run) {
    this.run = run;
    $("#run-id").textContent = run.id;
    $("#run-config").textContent = configSummary(run.config);
    $("#dl-csv").href = runsApi.csvUrl(run.id);
    $("#dl-csv").setAttribute("download", `backprop-lab-${run.id}.csv`);
    $("#dl-json").href = runsApi.jsonUrl(run.id);
    $("#dl-json").setAttribute("download", `backprop-lab-${run.id}.json`);
    $("#dl-npz").href = runsApi.weightsUrl(run.id);
    $("#dl-npz").setAttribute("download", `backprop-lab-${run.id}.npz`);
    $("#open-net").href = `/net?run=${encodeURIComponent(run.id)}`;
    this.xs = [];
    this.raw = [];
    this.smooth = [];
    this.smoother.reset();
    this.push(run.losses, 0);
    this.loss.set([this.xs, this.raw, this.smooth]);
    this.loss.flush();
    this.drawEpochs(run);
    this.acc.flush();
    this.changed(run);
  }

  push(losses, from) {
    for (let i = from; i < losses.length; i++) {
      this.xs.push(i + 1);
      this.raw.push(losses[i]);
      this.smooth.push(this.smoother.push(losses[i]));
    }
  }

  addLosses(run, n) {
    this.push(run.losses, run.losses.length - n);
    this.loss.set([this.xs, this.raw, this.smooth]);
    this.progress();
  }

  drawEpochs(run) {
    const e = run.epochs;
    this.acc.set([e.map((x) => x.iteration), e.map((x) => x.train_acc), e.map((x) => x.test_acc)]);
    this.figures();
  }

  changed(run) {
    this.setStatus(run.status, run.position);
    const active = ACTIVE.has(run.status);
    const stop = $("#stop");
    stop.hidden = !active;
    stop.disabled = !hasToken(run.id) || this.stopping === run.id;
    stop.textContent = this.stopping === run.id ? t("train.stopping") : t("train.stop");
    stop.title = hasToken(run.id) ? t("train.stopTitle") : t("train.stopNoToken");
    $("#dl-npz").hidden = !FINAL.has(run.status) || run.status === "failed" || (run.status === "stopped" && !run.losses.length);
    const msg = $("#run-message");
    const why = run.status === "failed" ? run.error || run.summary?.error : run.status === "interrupted" || run.status === "stopped" ? run.summary?.reason : null;
    const stoppedAt = run.status === "stopped" && !why;
    msg.hidden = !why && !stoppedAt;
    msg.textContent = why ? t(`train.why.${run.status}`, { reason: why })
      : stoppedAt ? t("train.why.stoppedAt", { iteration: nf(run.losses.length) }) : "";
    msg.dataset.kind = run.status;
    this.waitTexts();
    this.progress();
    this.figures();
    this.onChange?.(run);
  }

  /** What an empty chart waits for, or why it stays empty. */
  waitTexts() {
    const run = this.run;
    if (!run) return;
    const over = FINAL.has(run.status);
    const loss = $("#loss-wait");
    loss.hidden = run.losses.length > 0;
    loss.textContent = t(over ? "train.loss.none" : "train.loss.waiting");
    const acc = $("#acc-wait");
    acc.hidden = run.epochs.length > 0;
    acc.textContent = over ? t("train.acc.noneFinal")
      : run.config.eval_every >= run.iterations ? t("train.acc.none") : t("train.acc.waiting", { every: nf(run.config.eval_every) });
  }

  setStatus(status, position) {
    const badge = $("#run-status");
    badge.className = `badge status-${status}`;
    badge.textContent = status === "loading" ? t("train.status.loading") : status === "missing" ? t("train.status.missing") : statusText(status, position);
    $("#run").dataset.status = status;
  }

  connection(state) {
    const c = $("#conn");
    c.hidden = state === "closed";
    c.className = `conn ${state}`;
    c.textContent = t(`train.conn.${state}`);
  }

  progress() {
    const run = this.run;
    if (!run) return;
    const done = run.losses.length;
    const total = run.iterations;
    $("#progress").value = total ? done / total : 0;
    $("#progress").dataset.iteration = String(done);
    const parts = [t("train.progress.iterations", { done: nf(done), total: nf(total) })];
    if (run.status === "running") {
      const rate = run.rate.perSecond();
      if (rate) {
        parts.push(t("train.progress.rate", { rate: nf(Math.round(rate)) }));
        parts.push(t("train.progress.left", { time: duration((total - done) / rate) }));
      } else parts.push(t("train.progress.measuring"));
    } else if (run.status === "queued") {
      parts.push(run.position ? t("train.progress.queuedAt", { position: run.position }) : t("train.progress.queued"));
    } else if (FINAL.has(run.status) && (run.summary?.seconds ?? run.timings?.train_seconds)) {
      parts.push(t("train.progress.took", { time: duration(run.summary?.seconds ?? run.timings.train_seconds) }));
    }
    $("#progress-text").textContent = parts.join(" · ");
  }

  figures() {
    const run = this.run;
    if (!run) return;
    const last = run.epochs[run.epochs.length - 1];
    const loss = run.losses[run.losses.length - 1];
    $("#fig-loss").textContent = loss == null ? "—" : fmt(loss);
    $("#fig-train").textContent = pct(run.final?.train_acc ?? last?.train_acc, 2);
    $("#fig-test").textContent = pct(run.final?.test_acc ?? last?.test_acc, 2);
    $("#fig-epochs").textContent = run.epochs.length ? nf(run.epochs.length) : "—";
    const seconds = run.summary?.seconds ?? run.timings?.train_seconds ?? last?.elapsed;
    $("#fig-time").textContent = duration(seconds);
  }

  async stop() {
    const run = this.run;
    if (!run) return;
    this.stopping = run.id;
    $("#stop").disabled = true;
    $("#stop").textContent = t("train.stopping");
    try {
      await runsApi.stop(run.id);
    } catch (err) {
      this.stopping = null;
      $("#run-message").hidden = false;
      $("#run-message").textContent = t("train.error.stop", { detail: err.detail || err.message });
    }
    if (this.run) this.changed(this.run);
  }
}
