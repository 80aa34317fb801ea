"""The training dashboard in Chromium: a short run streams to its end, stop, reload mid-run, compare, downloads.

Runs are tiny (a few thousand images) so each test takes seconds; the machine's two cores are shared.
"""

from __future__ import annotations

import csv
import io
import json
import time
from typing import Any

import httpx
import numpy as np
import pytest

from support.browser import shot

SMALL = {"train_limit": 2000, "test_limit": 500, "batch_size": 100}


def open_train(new_page, path: str = "/train", **kw):
    page = new_page(path, wait_ready=False, **kw)
    page.wait_for_selector("body[data-ready]")
    return page


def fill_form(page, **values: Any) -> None:
    if any(k in values for k in ("seed", "train_limit", "test_limit")):
        page.locator("#advanced summary").click()
    for name, value in values.items():
        page.fill(f"#f-{name}", str(value))


def start_from_form(page, **values: Any) -> str:
    """Fill the form, start, and return the new run's id once the page follows it."""
    before = page.locator("#run-id").text_content() or ""
    fill_form(page, **values)
    page.click("#start")
    page.wait_for_function("(b) => { const id = document.querySelector('#run-id').textContent; return id && id !== b }", arg=before)
    return page.locator("#run-id").text_content()


def charts(page) -> dict[str, str]:
    return page.eval_on_selector("#charts", "e => ({...e.dataset})")


def wait_status(page, status: str, timeout: float = 60_000) -> None:
    page.wait_for_selector(f"#run[data-status={status}]", timeout=timeout)


def api_run(base_url: str, run_id: str) -> dict[str, Any]:
    return httpx.get(f"{base_url}/api/runs/{run_id}", timeout=30).json()


def test_the_form_defaults_are_the_books_experiment(new_page, console) -> None:
    console.allow(r"status of 422")  # the server's answer to the bad config below, as intended
    page = open_train(new_page)
    values = page.eval_on_selector_all("#run-form [name]", "es => Object.fromEntries(es.map(e => [e.name, e.value]))")
    assert values == {"dataset": "mnist", "hidden_size": "50", "activation": "relu", "weight_init": "0.01", "optimizer": "sgd",
                      "learning_rate": "0.1", "batch_size": "100", "iterations": "10000", "epochs": "", "eval_every": "600",
                      "seed": "", "train_limit": "", "test_limit": ""}
    assert page.locator(".ffield .fhint").count() == 13  # an explanation for every option
    # a bad value is reported at its field, and nothing starts
    fill_form(page, hidden_size=0)
    page.click("#start")
    assert page.locator('.ffield[data-field="hidden_size"] .ferror').is_visible()
    assert page.locator("#f-hidden_size").get_attribute("aria-invalid") == "true"
    # the server's own check (batch larger than the training subset) lands at its field too
    page.click("[data-preset=book]")
    fill_form(page, batch_size=500, train_limit=100)
    page.click("#start")
    page.wait_for_selector('.ffield[data-field="batch_size"] .ferror')
    assert "100" in page.locator('.ffield[data-field="batch_size"] .ferror').text_content()


def test_epochs_instead_of_iterations(new_page, base_url) -> None:
    page = open_train(new_page)
    fill_form(page, epochs=0)
    page.click("#start")
    assert page.locator('.ffield[data-field="epochs"] .ferror').is_visible()  # epochs must be more than 0
    run_id = start_from_form(page, epochs=1.5, eval_every=10, seed=4, **SMALL)
    wait_status(page, "done")
    run = api_run(base_url, run_id)
    assert run["config"]["epochs"] == 1.5 and run["config"]["iterations"] == 30  # 1.5 x 2,000 images / 100
    assert len(run["metrics"]["loss"]) == 30 and "30 / 30" in page.locator("#progress-text").text_content()


def test_a_short_run_streams_its_curves_to_the_end(new_page, base_url) -> None:
    page = open_train(new_page)
    # record every value data-points takes, to see the curve grow in steps as events arrive
    page.evaluate("""() => {
      window.seenPoints = [];
      new MutationObserver(() => window.seenPoints.push(+document.querySelector('#charts').dataset.points))
        .observe(document.querySelector('#charts'), { attributes: true, attributeFilter: ['data-points'] });
    }""")
    run_id = start_from_form(page, iterations=1500, eval_every=500, seed=3, **SMALL)
    wait_status(page, "done")
    page.wait_for_function("() => document.querySelector('#charts').dataset.points === '1500'")
    seen = page.evaluate("window.seenPoints")
    steps = sorted(set(seen) - {0})
    assert steps[-1] == 1500 and len(steps) >= 2, f"the curve should grow as losses arrive: {seen}"
    assert seen == sorted(seen) or seen.count(0) <= 1  # never shrinks (a 0 only when the run was reset)
    data = charts(page)
    run = api_run(base_url, run_id)
    assert float(data["lastLoss"]) == pytest.approx(run["metrics"]["loss"][-1], rel=1e-9)
    assert float(data["lastTestAcc"]) == pytest.approx(run["metrics"]["epochs"][-1]["test_acc"])
    assert float(data["lastTestAcc"]) > 0.75
    assert page.locator("#run-status").text_content() == "done"
    assert "1,500 / 1,500" in page.locator("#progress-text").text_content()
    assert page.locator("#fig-epochs").text_content() == "3"
    assert page.locator("#stop").is_hidden()
    row = page.locator(f'#runs-body tr[data-run-id="{run_id}"]')
    row.locator(".badge.status-done").wait_for()
    assert "%" in row.locator("td.num").text_content()
    # the page's curve is the run's curve, point for point
    drawn = page.evaluate("window.backpropTrain.view.raw")
    assert np.allclose(drawn, run["metrics"]["loss"], rtol=0, atol=0)
    shot(page, "train-done")

    # downloads: metrics as CSV and JSON, weights as .npz
    page.click("#downloads summary")
    with page.expect_download() as d:
        page.click("#dl-csv")
    rows = list(csv.DictReader(io.StringIO(open(d.value.path()).read())))
    assert len([r for r in rows if r["loss"]]) == 1500 and rows[-1]["test_acc"]
    page.click("#downloads summary") if not page.locator("#dl-json").is_visible() else None
    with page.expect_download() as d:
        page.click("#dl-json")
    assert json.load(open(d.value.path()))["metrics"]["loss"] == run["metrics"]["loss"]
    page.click("#downloads summary") if not page.locator("#dl-npz").is_visible() else None
    with page.expect_download() as d:
        page.click("#dl-npz")
    with np.load(d.value.path()) as f:
        assert f["W1"].shape == (784, 50) and f["b2"].shape == (10,)


def test_stop_a_run(new_page, base_url) -> None:
    page = open_train(new_page)
    run_id = start_from_form(page, iterations=1_000_000, eval_every=1_000_000, **SMALL)
    page.wait_for_function("() => +document.querySelector('#charts').dataset.points > 100", timeout=30_000)
    assert page.locator("#run-status").text_content() == "running"
    page.wait_for_function("() => /it\\/s/.test(document.querySelector('#progress-text').textContent)")
    assert "left" in page.locator("#progress-text").text_content()
    shot(page, "train-running")
    page.click("#stop")
    wait_status(page, "stopped", timeout=10_000)
    points = int(charts(page)["points"])
    run = api_run(base_url, run_id)
    assert run["status"] == "stopped" and 100 < points == len(run["metrics"]["loss"]) < 1_000_000
    assert page.locator("#stop").is_hidden()
    assert page.locator("#run-message").is_visible()


def test_reload_and_a_lost_connection_leave_no_gap(new_page, base_url, console) -> None:
    # Chromium itself logs the requests that fail while the context is offline; the page must recover from them.
    console.allow(r"net::ERR_INTERNET_DISCONNECTED")
    page = open_train(new_page)
    iterations = 4000
    run_id = start_from_form(page, iterations=iterations, eval_every=2000, seed=5, **SMALL)
    page.wait_for_function("() => +document.querySelector('#charts').dataset.points > 300", timeout=30_000)
    page.reload()  # the URL carries ?run=<id>, so the page follows the same run
    page.wait_for_selector("body[data-ready]")
    assert page.locator("#run-id").text_content() == run_id
    page.wait_for_function("() => +document.querySelector('#charts').dataset.points > 0")
    run_after_reload = api_run(base_url, run_id)
    if run_after_reload["status"] == "running":  # still time to cut the connection too
        page.context.set_offline(True)
        time.sleep(0.8)
        page.context.set_offline(False)
    wait_status(page, "done", timeout=90_000)
    page.wait_for_function(f"() => document.querySelector('#charts').dataset.points === '{iterations}'")
    run = api_run(base_url, run_id)
    assert page.evaluate("window.backpropTrain.view.raw") == run["metrics"]["loss"]  # no gap, no repeat
    assert page.evaluate("window.backpropTrain.view.xs.at(-1)") == iterations
    assert len(page.evaluate("window.backpropTrain.view.run.epochs")) == 2


def test_compare_two_runs(new_page, base_url) -> None:
    ids = []
    for lr in (0.05, 0.5):
        r = httpx.post(f"{base_url}/api/runs", json={"iterations": 400, "eval_every": 200, "learning_rate": lr, "seed": 2, **SMALL})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    for run_id in ids:
        deadline = time.monotonic() + 60
        while api_run(base_url, run_id)["status"] != "done":
            assert time.monotonic() < deadline
            time.sleep(0.2)
    page = open_train(new_page)
    for run_id in ids:
        page.locator(f'#runs-body tr[data-run-id="{run_id}"] input[type=checkbox]').check()
    page.wait_for_selector("#compare[data-series='2'][data-drawn='2']")
    assert page.locator("#compare").is_visible()
    assert set(page.locator("#compare").get_attribute("data-runs").split(",")) == set(ids)
    legend = page.locator("#compare-loss .u-legend").text_content()
    assert all(run_id in legend for run_id in ids) and "lr 0.05" in legend and "lr 0.5" in legend
    # each overlaid curve is its run's smoothed loss; both runs have 400 points
    assert page.evaluate("window.backpropTrain.compare.loss.data[0].length") == 400
    page.locator("#compare").scroll_into_view_if_needed()
    shot(page, "train-compare")
    page.click("#compare-clear")
    assert page.locator("#compare").is_hidden()


@pytest.mark.parametrize("scheme", ["dark"])
def test_phone_width_and_dark(new_page, scheme: str) -> None:
    page = open_train(new_page, viewport=(390, 844), color_scheme=scheme)
    overflow = page.evaluate("(() => { const m = document.querySelector('main'); return m.scrollWidth - m.clientWidth })()")
    assert overflow <= 0, f"the dashboard is {overflow}px wider than a phone"
    page.locator("#run").scroll_into_view_if_needed()
    shot(page, "train-phone-dark")
    # a watched run comes first on a phone: the form is folded, and opens from the keyboard
    if page.locator("#run-body").is_visible():
        assert page.locator("#form-toggle").get_attribute("aria-expanded") == "false"
        page.focus("#form-toggle")
        page.keyboard.press("Enter")
    assert page.locator("#f-hidden_size").is_visible()
    # keyboard: the form can be filled and submitted without a mouse
    page.focus("#f-hidden_size")
    page.keyboard.press("Control+A")
    page.keyboard.type("abc")
    page.keyboard.press("Enter")
    assert page.locator('.ffield[data-field="hidden_size"] .ferror').is_visible()


def test_tens_of_thousands_of_points_stay_responsive(new_page) -> None:
    """20,000 points of history, then 200 loss events in a burst: one redraw per frame, not per event."""
    page = open_train(new_page)
    result = page.evaluate("""async () => {
      const { RunData } = await import('/static/js/train-stream.js');
      const view = window.backpropTrain.view;
      view.clear(); // the page may still be loading the newest run: it must not land in the middle
      const loss = Array.from({ length: 20000 }, (_, i) => 2.3 * Math.exp(-i / 3000) + 0.05 * Math.random() + 0.01);
      const run = new RunData({ id: 'synthetic', config: { iterations: 30000, hidden_size: 50, activation: 'relu', optimizer: 'sgd',
        learning_rate: 0.1, batch_size: 100 }, status: 'running', position: null, final: null, summary: null, error: null,
        timings: {}, started: 0, metrics: { loss, epochs: [] }, last_event_id: 0 });
      document.querySelector('#run-body').hidden = false;
      document.querySelector('#run-empty').hidden = true;
      view.reset(run);
      let draws = 0;
      const setData = view.loss.plot.setData.bind(view.loss.plot);
      view.loss.plot.setData = (...a) => { draws += 1; return setData(...a); };
      const t0 = performance.now();
      for (let k = 0; k < 200; k++) {
        const start = run.losses.length;
        run.addLosses(start, Array.from({ length: 50 }, () => 0.1 + 0.05 * Math.random()));
        view.addLosses(run, 50);
      }
      const handling = performance.now() - t0;
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      return { draws, handling, points: +document.querySelector('#charts').dataset.points };
    }""")
    assert result["points"] == 30_000
    assert result["draws"] <= 2, result  # 200 events, one drawing per animation frame
    assert result["handling"] < 500, result  # appending 10,000 points costs the main thread little
