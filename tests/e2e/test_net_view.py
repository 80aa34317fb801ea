"""Inside the net in Chromium: a known test digit through a trained run, a drawn stroke, the panels, live follow."""

from __future__ import annotations

import time
from typing import Any

import httpx
import numpy as np
import pytest

from support.browser import shot

TRAINED = {"iterations": 800, "eval_every": 400, "train_limit": 5000, "test_limit": 500, "seed": 11}


def wait_run(base_url: str, run_id: str, statuses: tuple[str, ...], timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        run = httpx.get(f"{base_url}/api/runs/{run_id}", timeout=30).json()
        if run["status"] in statuses:
            return run
        assert time.monotonic() < deadline, f"run {run_id} stuck in {run['status']}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def trained(base_url: str) -> dict[str, Any]:
    r = httpx.post(f"{base_url}/api/runs", json=TRAINED, timeout=30)
    assert r.status_code == 201, r.text
    return wait_run(base_url, r.json()["id"], ("done",))


def open_net(new_page, run_id: str, **kw):
    page = new_page(f"/net?run={run_id}", wait_ready=False, **kw)
    page.wait_for_selector("body[data-ready]")
    return page


def edges(page) -> list[dict[str, Any]]:
    return page.eval_on_selector_all("#graph [data-from]", """es => es.map(e => ({from: e.dataset.from, to: e.dataset.to,
        value: e.querySelector('.edge-value').textContent, grad: e.querySelector('.edge-grad').textContent,
        none: e.querySelector('.edge-grad').classList.contains('none')}))""")


def pick_test_image(page, index: int) -> None:
    page.click("#tab-samples")
    page.locator(f'#samples .thumb[data-index="{index}"]').click()
    page.wait_for_function(f"() => window.backpropNet.S.sampleIndex === {index} && !window.backpropNet.S.inflight"
                           " && document.querySelector('#probs').dataset.predicted !== undefined")


def test_a_known_test_digit_through_the_net(new_page, base_url, trained) -> None:
    page = open_net(new_page, trained["id"])
    page.click("#tab-samples")
    page.wait_for_selector("#samples .thumb")
    first = page.locator("#samples .thumb").first
    assert first.get_attribute("data-index") == "0" and first.get_attribute("data-label") == "7"  # MNIST's first test image
    pick_test_image(page, 0)
    probs = page.locator("#probs")
    assert probs.get_attribute("data-predicted") == "7" and probs.get_attribute("data-label") == "7"
    assert page.locator("#predicted").text_content() == "7"
    assert "wrong" not in (page.locator("#verdict").get_attribute("class") or "")
    p = [float(x) for x in page.eval_on_selector_all("#probs .prob", "es => es.map(e => e.dataset.p)")]
    assert len(p) == 10 and sum(p) == pytest.approx(1, abs=1e-6) and int(np.argmax(p)) == 7
    # the page shows what the API answers for the same image
    sample = httpx.get(f"{base_url}/api/datasets/mnist/samples", params={"n": 1}).json()
    direct = httpx.post(f"{base_url}/api/runs/{trained['id']}/predict", json={"image": sample["images"][0], "label": 7}).json()
    assert np.allclose(p, direct["probabilities"], atol=1e-9)

    # the net: Affine1 -> Relu1 -> Affine2 -> SoftmaxWithLoss, a value and a gradient on every edge
    nodes = set(page.eval_on_selector_all("#graph [data-node-id]", "es => es.map(e => e.dataset.nodeId)"))
    assert {"x", "W1", "b1", "Affine1", "Relu1", "W2", "b2", "Affine2", "t", "SoftmaxWithLoss"} == nodes
    es = edges(page)
    assert len(es) == 9
    for e in es:
        assert e["value"].strip(), f"edge {e['from']}->{e['to']} shows no value"
        if e["from"] == "t":
            assert e["value"] == "7" and e["none"]  # the label: a value, and (by nature) no gradient
        else:
            assert e["grad"].strip(), f"edge {e['from']}->{e['to']} shows no gradient"
    by = {(e["from"], e["to"]): e for e in es}
    assert by[("x", "Affine1")]["value"].startswith("1×784 ∈[0, ")
    assert by[("W1", "Affine1")]["value"].startswith("784×50 ∈[")
    assert by[("Affine2", "SoftmaxWithLoss")]["value"].startswith("1×10 ∈[")
    loss = float(page.locator("#graph .sink .edge-value").text_content())
    assert loss == pytest.approx(direct["loss"], rel=1e-3)  # the loss leaves the net, its gradient 1 enters it
    assert page.locator("#graph .sink .edge-grad").text_content() == "1"

    # selecting a node tells its statistics (W1's come from the API's summary)
    page.click("#graph [data-node-id=W1]")
    detail = page.locator("#node-detail").text_content()
    assert "W1" in detail and "784×50" in detail and "max" in detail
    page.wait_for_selector("#w1[data-units='50']")
    page.wait_for_selector("#confusion td")
    assert page.locator("#confusion").get_attribute("data-total") == "500"
    assert page.locator("#gallery button").count() > 0
    shot(page, "net-test-image")

    # another label to backpropagate: the loss and the last layer's gradients change, the prediction not
    b2_before = by[("b2", "Affine2")]["grad"]
    page.locator("#label-pick label").filter(has_text="3").click()
    page.wait_for_function("() => document.querySelector('#probs').dataset.label === '3'")
    assert page.locator("#probs").get_attribute("data-predicted") == "7"
    assert next(e for e in edges(page) if e["from"] == "b2")["grad"] != b2_before
    assert "label 3" in page.locator("#loss-text").text_content()


def test_drawing_a_stroke_gives_a_prediction(new_page, trained) -> None:
    page = open_net(new_page, trained["id"])
    pad = page.locator("#pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    x, y, s = box["x"], box["y"], box["width"] / 280
    page.mouse.move(x + 140 * s, y + 40 * s)
    page.mouse.down()
    for k in range(1, 11):
        page.mouse.move(x + (140 - 2 * k) * s, y + (40 + 20 * k) * s)
    page.mouse.up()
    page.wait_for_function("() => document.querySelector('#probs').dataset.predicted !== undefined && !window.backpropNet.S.inflight")
    assert page.locator("#predicted").text_content() in [str(d) for d in range(10)]
    image = page.evaluate("window.backpropNet.S.image")
    assert len(image) == 784 and 0 <= min(image) and max(image) <= 1 and sum(image) > 10
    rows = np.array(image).reshape(28, 28)
    ys, xs = np.nonzero(rows > 0.05)
    assert 19 <= ys.max() - ys.min() + 1 <= 20  # the stroke's box was fitted into 20×20
    assert all(e["value"] for e in edges(page))
    shot(page, "net-drawn")

    # a pen works the same way (pointer events), and Delete on the focused pad clears it
    pad.focus()
    page.keyboard.press("Delete")
    page.wait_for_function("() => !window.backpropNet.S.image")
    for kind, dy in (("pointerdown", 0), ("pointermove", 60), ("pointermove", 120), ("pointerup", 120)):
        pad.dispatch_event(kind, {"pointerId": 7, "pointerType": "pen", "isPrimary": True, "button": 0,
                                  "clientX": x + 150 * s, "clientY": y + (60 + dy) * s, "bubbles": True})
    page.wait_for_function("() => window.backpropNet.S.image && document.querySelector('#probs').dataset.predicted !== undefined")


def test_mnist_preprocessing_fits_and_centres(new_page, trained) -> None:
    page = open_net(new_page, trained["id"])
    out = page.evaluate("""async () => {
      const { toMnist } = await import('/static/js/preprocess.js');
      const w = 200, h = 100, ink = new Float32Array(w * h);
      for (let y = 10; y < 50; y++) for (let x = 20; x < 180; x++) ink[y * w + x] = 1;  // a 160×40 bar, top left
      return toMnist(ink, w, h);
    }""")
    img = np.array(out).reshape(28, 28)
    ys, xs = np.nonzero(img > 0.01)
    assert xs.max() - xs.min() + 1 == 20 and ys.max() - ys.min() + 1 == 5  # 160×40 keeps its 4:1 into 20×5
    cy, cx = (np.array(np.nonzero(img)).T * img[img > 0][:, None]).sum(0) / img.sum()
    assert abs(cx + 0.5 - 14) <= 0.5 and abs(cy + 0.5 - 14) <= 0.5  # centre of mass at the centre
    assert img.max() == pytest.approx(1) and img.min() == 0


def test_gallery_and_confusion_matrix(new_page, base_url, trained) -> None:
    page = open_net(new_page, trained["id"])
    page.wait_for_selector("#confusion td")
    cells = page.eval_on_selector_all("#confusion td", "es => es.map(e => [+e.dataset.true, +e.dataset.pred, +e.dataset.count])")
    m = np.zeros((10, 10), dtype=int)
    for i, j, c in cells:
        m[i, j] = c
    api = httpx.get(f"{base_url}/api/runs/{trained['id']}/inspect", params={"gallery": 1}).json()
    assert (m == np.array(api["confusion"])).all() and m.sum() == 500
    # the most common mistake: select its cell, the gallery shows just those, one of them goes through the net
    i, j = max(((i, j) for i in range(10) for j in range(10) if i != j), key=lambda ij: m[ij])
    cell = page.locator(f'#confusion td[data-true="{i}"][data-pred="{j}"]')
    cell.focus()
    page.keyboard.press("Enter")
    assert cell.get_attribute("aria-pressed") == "true"  # re-rendered, found again by its data
    labels = page.eval_on_selector_all("#gallery button", "es => es.map(e => [+e.dataset.label, +e.dataset.predicted])")
    assert labels and all(lp == [i, j] for lp in labels)
    page.locator("#gallery button").first.click()
    page.wait_for_function(f"() => document.querySelector('#probs').dataset.predicted === '{j}' && !window.backpropNet.S.inflight")
    assert "wrong" in page.locator("#verdict").get_attribute("class")
    page.locator("#gallery").scroll_into_view_if_needed()
    shot(page, "net-mistakes")


def test_gradient_check_panel(new_page, trained) -> None:
    page = open_net(new_page, trained["id"])
    page.locator("#gc-form [data-seed='13']").click()  # two hidden units near ReLU's kink
    page.wait_for_selector("#gc-result[data-passed]", timeout=90_000)
    diffs = page.eval_on_selector_all("#gc-result [data-diff]", "es => es.map(e => +e.dataset.diff)")
    assert len(diffs) == 4 and all(0 <= d < 1e-4 for d in diffs)
    seconds = page.eval_on_selector_all("#gc-result [data-seconds]", "es => es.map(e => +e.dataset.seconds)")
    assert len(seconds) == 2 and 0 < seconds[0] < seconds[1]  # backprop, then the far slower numerical gradient
    assert "kink" in page.locator("#gc-result").text_content()
    page.locator("#gc-result").scroll_into_view_if_needed()
    shot(page, "net-gradient-check")


def test_follow_a_run_live(new_page, base_url, console) -> None:
    # the page waits for a running run's first iterations before asking for its weights; a 409 can
    # still slip through in the millisecond between the first losses and the first weights arriving
    console.allow(r"status of 409")
    r = httpx.post(f"{base_url}/api/runs", json={"iterations": 1_000_000, "eval_every": 1_000_000, "train_limit": 3000,
                                                "test_limit": 300, "learning_rate": 0.05, "seed": 4}, timeout=30)
    assert r.status_code == 201, r.text
    run = r.json()
    try:
        wait_run(base_url, run["id"], ("running",))
        page = open_net(new_page, run["id"])
        assert page.locator("#follow-box").is_visible() and page.locator("#follow").is_checked()
        pick_test_image(page, 1)
        iterations, texts = set(), set()
        deadline = time.monotonic() + 20
        while (len(iterations) < 3 or len(texts) < 3) and time.monotonic() < deadline:
            page.wait_for_selector("#w1[data-units='50']")
            iterations.add(page.locator("#w1").get_attribute("data-iteration"))
            texts.add(page.locator('#graph [data-from="b2"] .edge-value').text_content())
            time.sleep(0.25)
        assert len(iterations) >= 3, f"W1's images did not follow the training: {iterations}"
        assert len(texts) >= 3, f"the net's values did not follow the training: {texts}"
        shot(page, "net-follow-live")
        page.uncheck("#follow")  # and it holds still when asked
        time.sleep(0.4)
        frozen = page.locator("#w1").get_attribute("data-iteration")
        time.sleep(1.2)
        assert page.locator("#w1").get_attribute("data-iteration") == frozen
    finally:
        httpx.post(f"{base_url}/api/runs/{run['id']}/stop", headers={"Authorization": f"Bearer {run['token']}"})
    wait_run(base_url, run["id"], ("stopped",))


def test_phone_width_dark(new_page, trained) -> None:
    page = open_net(new_page, trained["id"], viewport=(390, 844), color_scheme="dark")
    pick_test_image(page, 2)
    overflow = page.evaluate("(() => { const m = document.querySelector('main'); return m.scrollWidth - m.clientWidth })()")
    assert overflow <= 0, f"the page is {overflow}px wider than a phone"
    page.locator("#graph").scroll_into_view_if_needed()
    shot(page, "net-phone-dark")
