"""The lessons at /lessons: every one opens cleanly with numbers on its graphs' edges,
predictions are checked by the engine, progress is remembered, the small run trains.

Expected numbers are the book's (chapter 5): 220 and 2.2 / 110 / 200 for the apples,
110, 2.2, 3.3, 165, 650 for apples and oranges, dB = (5, 7, 9) for the batch.
"""

from __future__ import annotations

import json
import re

import pytest

from app.lessons import LESSONS
from support.browser import shot

SLUGS = [lesson.slug for lesson in LESSONS]
NUMBER = re.compile(r"-?\d")


def open_lesson(new_page, slug: str, **kw):
    page = new_page(f"/lessons/{slug}", wait_ready=False, **kw)
    page.wait_for_selector("body[data-ready]")
    return page


def edge(view, src: str, dst: str):
    return view.locator(f'[data-from="{src}"][data-to="{dst}"]')


def grad_on(view, src: str, dst: str) -> str:
    return edge(view, src, dst).locator(".edge-grad").text_content()


def value_on(view, src: str, dst: str) -> str:
    return edge(view, src, dst).locator(".edge-value").text_content()


def predict(page, text: str) -> str:
    result = page.locator("#check .check-result")
    before = int(result.get_attribute("data-count") or 0)
    page.locator("#guess").fill(text)
    page.locator("#check button[type=submit]").click()
    page.wait_for_function("(b) => Number(document.querySelector('#check .check-result').dataset.count || 0) > b", arg=before)
    return result.get_attribute("data-outcome")


def settled(view) -> None:
    view.page.wait_for_function("(el) => el.dataset.evaluated && !el.dataset.pending", arg=view.element_handle())


def test_every_lesson_opens_with_numbers_on_its_edges(new_page):
    page = open_lesson(new_page, SLUGS[0])
    for i, slug in enumerate(SLUGS):
        if i:
            page.goto(f"/lessons/{slug}")
            page.wait_for_selector("body[data-ready]")
        title = page.locator("#lesson-title").inner_text()
        assert title and title != slug, slug
        assert page.locator("#lesson-kicker").inner_text().startswith(f"Lesson {i + 1} of {len(SLUGS)}")
        views = page.locator(".lv")
        assert views.count() >= 1, slug
        for k in range(views.count()):
            view = views.nth(k)
            assert view.get_attribute("data-evaluated"), (slug, k)
            values = view.locator("[data-from] .edge-value").all_text_contents()
            grads = view.locator("[data-from] .edge-grad").all_text_contents()
            assert values and all(NUMBER.search(v) for v in values), (slug, k, values)
            assert sum(bool(NUMBER.search(g)) for g in grads) >= len(grads) - 1, (slug, k, grads)  # one may wait for a prediction
            assert NUMBER.search(view.locator(".sink .edge-value").text_content()), (slug, k)
        assert page.locator(".lesson-body .katex").count() >= 1, slug  # formulas typeset
        assert page.locator("#try p").count() >= 1 and page.locator("#check .check-question").inner_text()
        nxt = page.locator(".lesson-pager .pager-next")
        assert nxt.get_attribute("href") == (f"/lessons/{SLUGS[i + 1]}" if i + 1 < len(SLUGS) else "/")


def test_the_books_numbers_appear_on_the_shopping_graphs(new_page):
    page = open_lesson(new_page, "shopping")
    apple, both = page.locator(".lv").nth(0), page.locator(".lv").nth(1)
    assert apple.locator(".sink .edge-value").text_content() == "220"
    assert [grad_on(apple, "apple", "apple_price"), grad_on(apple, "apple_num", "apple_price"), grad_on(apple, "tax", "price")] == ["2.2", "110", "200"]
    assert both.locator(".sink .edge-value").text_content() == "715"
    assert [grad_on(both, *e) for e in (("apple_num", "apple_price"), ("apple", "apple_price"), ("orange", "orange_price"),
                                         ("orange_num", "orange_price"), ("tax", "price"))] == ["110", "2.2", "3.3", "165", "650"]
    shot(page, "lesson-shopping-en")
    # "Open in the editor" carries the graph as it is now
    href = both.get_by_role("link", name="Open in the editor").get_attribute("href")
    assert "/#graph=" in href
    page.goto(href)
    page.wait_for_selector("body[data-ready]")
    page.wait_for_function("() => document.querySelector('#graph .sink .edge-value')?.textContent === '715'")


def test_a_prediction_is_corrected_with_an_explanation_then_accepted(new_page):
    page = open_lesson(new_page, "shopping")
    apple = page.locator(".lv").nth(0)
    assert predict(page, "") == "invalid"
    assert "Type a number" in page.locator("#check .check-result").inner_text()
    assert predict(page, "four") == "invalid"

    assert predict(page, "4") == "wrong"
    result = page.locator("#check .check-result")
    assert "you said 4" in result.inner_text() and "4.4" in result.inner_text()
    assert "Doubling the tax doubles" in result.inner_text()  # the why, not just the number
    # the graph now shows the question's change and its answer, highlighted
    settled(apple)
    assert page.locator('.lv [data-leaf="tax"]').first.input_value() == "2.2"
    assert grad_on(apple, "apple", "apple_price") == "4.4"
    assert "focus" in edge(apple, "apple", "apple_price").get_attribute("class")
    assert not page.evaluate("() => window.backpropLessons.loadProgress().solved.shopping")

    assert predict(page, "4.41") == "right"  # within the tolerance
    assert "Right" in result.inner_text()
    assert page.evaluate("() => window.backpropLessons.loadProgress().solved.shopping") is True
    assert predict(page, "４,４") == "right"  # full-width digits and a decimal comma are numbers too
    shot(page, "lesson-shopping-checked")


def test_a_hidden_answer_waits_for_the_prediction(new_page):
    page = open_lesson(new_page, "affine")
    view = page.locator(".lv").first
    assert grad_on(view, "B", "Y") == "?"
    assert view.locator('[data-table="B"] .hidden-answer').count() == 1
    assert "9" not in view.locator('[data-node-id="B"] > title').text_content()  # nor in the tooltip
    assert predict(page, "7") == "wrong"
    assert "3+6=9" in page.locator("#check .check-result").inner_text()  # KaTeX drops the spaces
    assert grad_on(view, "B", "Y") == "3 [5, 7, 9]"
    assert view.locator('[data-table="B"] .hidden-answer').count() == 0


def test_editing_a_leaf_and_stepping_through(new_page):
    page = open_lesson(new_page, "chain-rule")
    view = page.locator(".lv").first
    field = view.locator('[data-leaf="y"]')
    field.fill("1")
    page.wait_for_function("(el) => el.dataset.evaluated === '2' && !el.dataset.pending", arg=view.element_handle())
    assert grad_on(view, "x", "t") == "8" and view.locator(".sink .edge-value").text_content() == "16"
    field.fill("1 +")
    assert "invalid" in field.get_attribute("class")
    view.get_by_role("button", name="Reset").click()
    page.wait_for_function("(el) => el.dataset.evaluated === '3'", arg=view.element_handle())
    assert grad_on(view, "x", "t") == "4"
    # step mode: values first, then gradients, explained as it goes
    forward = view.get_by_role("button", name="Step forward")
    forward.click()
    assert view.locator(".lv-step").is_visible()
    assert grad_on(view, "x", "t") == "" and value_on(view, "x", "t") == "3"
    for _ in range(20):
        if forward.is_disabled():
            break
        forward.click()
    assert forward.is_disabled()  # at the end of the backward pass
    assert grad_on(view, "x", "t") == "4"
    assert "dx = dout = 4" in view.locator(".lv-step").inner_text()
    view.get_by_role("button", name="Show all").click()
    assert view.locator(".lv-step").is_hidden()


def test_an_error_shows_at_the_node_it_names_and_the_typing_stays(new_page, console):
    console.allow(r"status of 422")
    page = open_lesson(new_page, "affine")
    view = page.locator(".lv").first
    field = view.locator('[data-leaf="B"]')
    field.fill("[1, 2]")  # three columns in Y, two biases: the engine names the node that adds them
    page.wait_for_function("(el) => !el.dataset.pending && el.querySelector('.node.error')", arg=view.element_handle())
    bad = view.locator(".node.error")
    assert bad.count() == 1
    assert bad.get_attribute("data-node-id") == "Y"
    msg = bad.locator(".node-message").text_content()
    assert msg.startswith("b must have shape [3], got"), msg  # not "node 'Y' (affine): " again
    assert bad.locator(".node-message title").text_content().startswith("b must have shape [3], got [2] [input shapes")
    assert field.input_value() == "[1, 2]"  # nothing typed is lost
    field.fill("[1, 2, 3]")
    page.wait_for_function("(el) => !el.dataset.pending && !el.querySelector('.node.error')", arg=view.element_handle())
    assert view.locator(".node-message").count() == 0


def test_the_gradient_check_on_the_tiny_net(new_page):
    page = open_lesson(new_page, "two-layer-net")
    view = page.locator(".lv").first
    assert view.locator("[data-check='good']").count() == 1
    assert view.locator(".lv-check-table tbody tr").count() == 6
    assert view.locator("text.check.good").count() >= 5
    # the question hides b2's gradient everywhere, including the check table
    assert view.locator(".lv-check-table tbody tr", has_text="b2").locator("td").nth(0).inner_text() == "?"
    assert predict(page, "0") == "right"
    assert view.locator(".lv-check-table tbody tr", has_text="b2").locator("td").nth(0).inner_text() != "?"


def test_the_books_gradient_check_on_mnist_runs_on_demand(new_page):
    page = open_lesson(new_page, "two-layer-net")
    demo = page.locator("#gc-demo")
    assert demo.locator(".gc-result").inner_text() == ""  # nothing runs on its own
    demo.get_by_role("button", name="Run the book's gradient check").click()
    page.wait_for_function("() => ['passed', 'kink', 'failed'].includes(document.querySelector('#gc-demo').dataset.state)", timeout=90_000)
    assert demo.get_attribute("data-state") == "passed"
    diffs = [float(demo.locator(f"td[data-param={p}]").inner_text()) for p in ("W1", "b1", "W2", "b2")]
    assert all(0 < d < 1e-6 for d in diffs), diffs  # the book prints 1e-10 .. 1e-7
    assert "times longer" in demo.inner_text()


def test_progress_is_remembered_on_the_table_of_contents(new_page):
    page = open_lesson(new_page, "sigmoid")
    assert predict(page, "0.25") == "right"
    page.goto("/lessons")
    page.wait_for_selector("body[data-ready]")
    assert page.locator("#toc [data-slug='sigmoid'] [data-status]").get_attribute("data-state") == "solved"
    assert page.locator("#toc [data-slug='relu'] [data-status]").get_attribute("data-state") == ""
    go = page.locator("#lessons-continue")
    assert go.get_attribute("href") == "/lessons/sigmoid" and "Sigmoid" in go.inner_text()
    assert "1 of 10" in page.locator("#lessons-progress").inner_text()
    page.reload()
    page.wait_for_selector("body[data-ready]")
    assert page.locator("#toc [data-slug='sigmoid'] [data-status]").get_attribute("data-state") == "solved"
    shot(page, "lessons-toc-en")


def test_every_lesson_page_has_its_table_of_contents(new_page):
    # 1280x800: folded into one line above the lesson, opened by a click
    page = open_lesson(new_page, "affine")
    fold = page.locator("#toc-fold")
    summary = fold.locator("summary")
    assert summary.is_visible() and summary.inner_text() == "Contents 7 / 10"
    link = fold.get_by_role("link", name="Softmax-with-Loss")
    assert not link.is_visible()
    summary.click()
    assert link.is_visible()
    assert fold.locator('[aria-current="page"]').inner_text().startswith("7")
    assert fold.locator("li").count() == len(SLUGS)
    link.click()
    page.wait_for_url("**/lessons/softmax-with-loss")
    # wide screens: a rail beside the lesson, open without a click
    page = open_lesson(new_page, "affine", viewport=(1600, 900))
    assert page.locator("#toc-fold summary").is_hidden()
    assert page.locator("#toc-fold").get_by_role("link", name="Softmax-with-Loss").is_visible()
    rail, lesson = page.locator("nav.lesson-toc").bounding_box(), page.locator("#lesson").bounding_box()
    assert rail["x"] + rail["width"] <= lesson["x"]


def test_an_unknown_lesson_shows_the_list(new_page, console):
    console.allow(r"404")  # the browser logs the page's own status
    page = new_page("/lessons/no-such-lesson", wait_ready=False)
    page.wait_for_selector("body[data-ready]")
    assert page.locator(".notice").is_visible()
    assert page.locator("#toc li").count() == len(SLUGS)


def test_gradient_steps_lower_the_loss(new_page):
    page = open_lesson(new_page, "training")
    view = page.locator(".lv").first
    loss = float(view.locator(".sink .edge-value").text_content())
    button = view.locator("[data-sgd]")
    for k in (1, 2, 3):
        button.click()
        page.wait_for_function("([el, k]) => el.dataset.steps === String(k) && !el.dataset.pending", arg=[view.element_handle(), k])
        after = float(view.locator(".sink .edge-value").text_content())
        assert after < loss
        loss = after
    assert "Step 3" in view.locator(".lv-sgd-log").inner_text()


def test_the_small_training_run_streams_its_curves_and_stops(new_page):
    page = open_lesson(new_page, "training")
    demo = page.locator("#train-demo")
    assert demo.get_attribute("data-losses") == "0"  # nothing starts on its own
    sent = []

    def longer(route):  # the lesson's 200 iterations can end before Stop is clicked; this run cannot
        body = json.loads(route.request.post_data)
        sent.append(dict(body))
        route.continue_(post_data=json.dumps({**body, "iterations": 1_000_000}))

    page.route("**/api/runs", longer)
    page.locator("#train-start").click()
    page.wait_for_function("() => Number(document.querySelector('#train-demo').dataset.epochs) >= 1", timeout=60_000)
    assert sent == [{"iterations": 200, "batch_size": 100, "eval_every": 20, "learning_rate": 0.1,
                     "train_limit": 2000, "test_limit": 1000, "seed": 0}]
    assert int(demo.get_attribute("data-losses")) >= 20
    row = demo.locator(".train-table tbody tr").first
    assert row.get_attribute("data-iteration") == "20"
    assert re.fullmatch(r"\d+\.\d%", row.locator("td.test").inner_text())
    assert demo.locator("path.line.loss").count() == 1
    demo.get_by_role("button", name="Stop").click()
    page.wait_for_function("() => document.querySelector('#train-demo').dataset.state === 'stopped'", timeout=30_000)
    assert page.locator("#train-start").is_enabled()
    shot(page, "lesson-training-en")


@pytest.mark.parametrize("slug", ["computation-graphs", "sigmoid", "affine", "softmax-with-loss", "two-layer-net"])
def test_screenshots_in_both_languages(browser, base_url, console, slug):
    from test_i18n import _context, _watch

    for locale in ("en", "zh"):
        ctx = _context(browser, base_url)
        ctx.add_cookies([{"name": "lang", "value": locale, "url": base_url}])
        page = ctx.new_page()
        _watch(page, console)
        page.goto(f"/lessons/{slug}")
        page.wait_for_selector("body[data-ready]")
        if locale == "zh":
            assert re.search(r"[\u4e00-\u9fff]", page.locator("#lesson-title").inner_text())
        page.locator(".lv").first.scroll_into_view_if_needed()
        shot(page, f"lesson-{slug}-{locale}")
        ctx.close()
    assert console.unexpected() == []


def test_a_lesson_on_a_phone(new_page):
    page = open_lesson(new_page, "shopping", viewport=(390, 844))
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert page.locator(".lv").first.locator(".sink .edge-value").text_content() == "220"
    shot(page, "lesson-shopping-phone")
