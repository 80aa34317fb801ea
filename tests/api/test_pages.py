"""The HTML pages (app/api/pages.py) and the lesson list (app/lessons.py).

Every lesson's question is answered here by the engine, through the API, the
way the browser asks it, and compared with a hand computation from the book's
numbers: the lesson texts state these answers, so they must not drift.
"""

from __future__ import annotations

import html
import json
import math
import re

import pytest
from fastapi.testclient import TestClient

from app.api.pages import negotiate
from app.lessons import BY_SLUG, LESSONS, neighbours
from app.training.config import TrainConfig

# (slug, hand-computed answer) — the explanations in static/js/messages/lessons*.js say the same
BOOK_ANSWERS = {
    "computation-graphs": (100 * 2 + 5000) * 1.1,  # 5720
    "chain-rule": 2 * (3 + 1),  # dz/dx = 2(x + y) at x = 3, y = 1
    "add-and-multiply": 1.3 * 3,  # dL/dx = dL/dz * y
    "shopping": 2 * 2.2,  # d apple = apple_num * tax, tax doubled
    "relu": 7,  # the upstream gradient where x > 0
    "sigmoid": 0.5 * (1 - 0.5),  # y(1 - y) at x = 0
    "affine": 3 + 6,  # column sum of dY = [[1, 2, 3], [4, 5, 6]]
    "softmax-with-loss": 0.5 - 1,  # y - t, third entry
    "two-layer-net": 0.0,  # rows of y - t add up to 0
    "training": 2000 / 100,  # iterations per epoch
}


@pytest.mark.parametrize(("header", "expected"), [
    ("", "en"),
    ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
    ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
    ("fr-FR, zh;q=0.5, en;q=0.4", "zh"),  # the best *supported* one
    ("fr, de;q=0.9", "en"),
    ("en;q=0.5, zh;q=0.5", "en"),  # a tie goes to the first listed
    ("zh-TW", "zh"),
    ("ZH-hans-CN;q=1", "zh"),
    ("zh;q=0, en;q=0.1", "en"),  # q=0 means "not acceptable"
    ("zh;q=0", "en"),
    ("zh;q=abc, en", "en"),
    ("*", "en"),
    (";;,,zh", "zh"),
])
def test_accept_language_negotiation(header: str, expected: str) -> None:
    assert negotiate(header) == expected


def _lang(client: TestClient, path: str = "/lessons", **kw) -> tuple[str, str]:
    r = client.get(path, **kw)
    assert r.status_code == 200
    m = re.search(r'<html lang="([^"]+)" data-locale="([^"]+)"', r.text)
    assert m, r.text[:200]
    return m.group(1), m.group(2)


def test_pages_render_the_html_lang_from_cookie_then_accept_language(client: TestClient) -> None:
    assert _lang(client) == ("en", "en")
    assert _lang(client, headers={"Accept-Language": "zh-CN,zh;q=0.9"}) == ("zh-CN", "zh")
    client.cookies.set("lang", "en")
    assert _lang(client, headers={"Accept-Language": "zh-CN"}) == ("en", "en")  # the cookie wins
    client.cookies.set("lang", "zh")
    for path in ("/", "/train", "/net", "/lessons", "/lessons/chain-rule"):
        assert _lang(client, path, headers={"Accept-Language": "en"}) == ("zh-CN", "zh")
    client.cookies.set("lang", "klingon")  # not ours: ignored
    assert _lang(client, headers={"Accept-Language": "zh"}) == ("zh-CN", "zh")


def test_pages_say_what_they_vary_on(client: TestClient) -> None:
    r = client.get("/lessons", headers={"Accept-Language": "zh"})
    assert r.headers["content-language"] == "zh-CN"
    assert "accept-language" in r.headers["vary"].lower() and "cookie" in r.headers["vary"].lower()
    # the switch marks the current language
    assert re.search(r'data-lang="zh"[^>]*aria-pressed="true"', r.text)


def test_table_of_contents_links_every_lesson_in_order(client: TestClient) -> None:
    text = client.get("/lessons").text
    links = re.findall(r'<a href="/lessons/([\w-]+)">', text)
    assert links == [lesson.slug for lesson in LESSONS]
    assert 'href="/lessons/computation-graphs"' in text and 'data-i18n="lesson.training.title"' in text


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.slug)
def test_every_lesson_has_a_stable_page(client: TestClient, lesson) -> None:
    r = client.get(f"/lessons/{lesson.slug}")
    assert r.status_code == 200
    spec = json.loads(html.unescape(re.search(r'data-spec="([^"]*)"', r.text).group(1)))
    assert spec["slug"] == lesson.slug and spec["views"] and spec["question"]["ask"]["kind"] in ("grad", "value")
    before, after = neighbours(lesson.slug)
    if before:
        assert f'rel="prev" href="/lessons/{before.slug}"' in r.text
    if after:
        assert f'rel="next" href="/lessons/{after.slug}"' in r.text
    assert 'aria-current="page"' in r.text


def test_an_unknown_lesson_gets_the_list_with_a_404(client: TestClient) -> None:
    r = client.get("/lessons/backprop-through-time")
    assert r.status_code == 404
    assert "lessons.missing" in r.text and 'href="/lessons/chain-rule"' in r.text
    assert "/lessons/backprop-through-time" in r.text


def test_a_slug_is_escaped_not_executed(client: TestClient) -> None:
    r = client.get("/lessons/%3Cimg%20src%3Dx%3E")
    assert r.status_code == 404 and "<img src=x>" not in r.text and "&lt;img" in r.text


def _answer(client: TestClient, slug: str) -> float:
    """What the browser computes for a lesson's question: its view's graph, changed as `set` says."""
    lesson = BY_SLUG[slug]
    q = lesson.question
    if q.answer is not None:
        return q.answer
    graph = json.loads(json.dumps(lesson.views[q.view].graph))
    for node in graph["nodes"]:
        if node["id"] in q.set:
            node["value"] = q.set[node["id"]]
    r = client.post("/api/graphs/evaluate", json=graph)
    assert r.status_code == 200, r.text
    kind, node_id = q.ask
    x = r.json()["nodes"][node_id]["value" if kind == "value" else "grad"]
    for i in q.index:
        x = x[i]
    if q.reduce == "sum":
        x = sum(sum(row) if isinstance(row, list) else row for row in x)
    return x


@pytest.mark.parametrize("slug", list(BOOK_ANSWERS))
def test_each_question_has_the_answer_its_text_gives(client: TestClient, slug: str) -> None:
    assert set(BOOK_ANSWERS) == set(BY_SLUG)
    got = _answer(client, slug)
    # exact but for the softmax lesson's scores, rounded to 4 decimals for reading (y = 0.3, 0.2, 0.5 to 1e-4)
    assert math.isclose(got, BOOK_ANSWERS[slug], rel_tol=1e-9, abs_tol=1e-4), (slug, got)


def test_lesson_views_evaluate_and_the_tiny_net_passes_its_gradient_check(client: TestClient) -> None:
    for lesson in LESSONS:
        for view in lesson.views:
            r = client.post(f"/api/graphs/evaluate{'?check=true' if view.check else ''}", json=view.graph)
            assert r.status_code == 200, (lesson.slug, r.text)
            if view.check:
                checks = r.json()["check"]
                assert checks and all(c["ok"] for c in checks.values()), checks
            editable = view.edit if view.edit is not None else ()
            ids = {n["id"] for n in view.graph["nodes"]}
            assert set(editable) <= ids and set(view.tables) <= ids


def test_book_numbers_on_the_shopping_graphs(client: TestClient) -> None:
    r = client.post("/api/graphs/evaluate", json=BY_SLUG["shopping"].views[1].graph).json()
    grads = {k: round(v["grad"], 9) for k, v in r["nodes"].items() if v["op"] == "input"}
    assert grads == {"apple": 2.2, "apple_num": 110, "orange": 3.3, "orange_num": 165, "tax": 650}


def test_the_tiny_net_keeps_away_from_relu_kinks() -> None:
    graph = BY_SLUG["two-layer-net"].views[0].graph
    values = {n["id"]: n.get("value") for n in graph["nodes"]}
    import numpy as np

    a1 = np.array(values["x"]) @ np.array(values["W1"]) + np.array(values["b1"])
    assert np.abs(a1).min() > 0.05  # far beyond the gradient check's h = 1e-4


def test_the_training_lesson_config_is_a_valid_small_run() -> None:
    config = TrainConfig.model_validate(BY_SLUG["training"].train)
    assert config.iterations <= 300 and config.train_limit <= 5000
    # the question's answer is this run's epoch length, and the run evaluates once per epoch
    assert config.train_limit / config.batch_size == BOOK_ANSWERS["training"] == config.eval_every
