"""English and Simplified Chinese across the interface: the header's switch, what the
server renders from the cookie or Accept-Language, and complete catalogues."""

from __future__ import annotations

import re

from support.browser import shot, wait_evaluated

CATALOGUES = """async () => {
    await import('/static/js/lessons.js').catch(() => null);
    await import('/static/js/messages/dashboard.js').catch(() => null);
    const { messages } = await import('/static/js/i18n.js');
    return { en: messages.en, zh: messages.zh };
}"""


def _context(browser, base_url, **kw):
    return browser.new_context(viewport={"width": 1280, "height": 800}, base_url=base_url, **kw)


def _watch(page, console) -> None:
    page.on("console", lambda m: console.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: console.errors.append(f"pageerror: {e}"))


def test_switching_to_chinese_changes_the_text_and_survives_a_reload(browser, base_url, console):
    ctx = _context(browser, base_url, locale="en-US")
    page = ctx.new_page()
    _watch(page, console)
    page.goto("/lessons")
    page.wait_for_selector("body[data-ready]")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator(".site-nav a[href='/lessons']").inner_text() == "Lessons"
    assert page.locator("h1").inner_text() == "Backpropagation, one graph at a time"

    with page.expect_navigation():
        page.locator("#lang-switch button[data-lang='zh']").click()
    page.wait_for_selector("body[data-ready]")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator(".site-nav a[href='/lessons']").inner_text() == "课程"
    assert page.locator("h1").inner_text() == "误差反向传播法，一张计算图一张计算图地看"
    assert page.locator("#toc [data-slug='chain-rule'] .toc-title").inner_text() == "z = (x + y)² 上的链式法则"
    assert page.locator("#lang-switch button[data-lang='zh']").get_attribute("aria-pressed") == "true"
    assert page.title().startswith("课程")
    assert {c["name"]: c["value"] for c in ctx.cookies()}["lang"] == "zh"
    assert page.evaluate("() => localStorage.getItem('backprop-lab:lang')") == "zh"

    page.reload()
    page.wait_for_selector("body[data-ready]")
    assert page.locator("html").get_attribute("lang") == "zh-CN"  # rendered so by the server, from the cookie
    assert page.locator("h1").inner_text() == "误差反向传播法，一张计算图一张计算图地看"

    # the editor follows, and still works
    page.goto("/")
    page.wait_for_selector("body[data-ready]")
    wait_evaluated(page)
    assert page.locator("label[for='example-select']").inner_text() == "示例"
    assert page.locator("#example-select option[value='apple']").inner_text() == "买苹果（5.1、5.3.3）"
    assert page.locator("#graph .sink .edge-value").text_content() == "220"
    assert page.locator(".legend .grad span").inner_text() == "梯度（反向传播）"
    page.locator('#graph [data-node-id="apple_price"]').click()
    assert page.locator("#panel h3").first.inner_text() == "正向传播"
    assert "乘法：每个输入的梯度" in page.locator("#panel .op-name").inner_text()  # the API's description, translated
    assert page.locator("#zoom-reset").inner_text() == "适应"
    shot(page, "i18n-editor-zh")

    with page.expect_navigation():
        page.locator("#lang-switch button[data-lang='en']").click()
    page.wait_for_selector("body[data-ready]")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("label[for='example-select']").inner_text() == "Example"
    ctx.close()
    assert console.unexpected() == []


def test_accept_language_sets_the_default(browser, base_url, console):
    for locale, lang, word in (("zh-CN", "zh-CN", "课程"), ("en-GB", "en", "Lessons"), ("fr-FR", "en", "Lessons")):
        ctx = _context(browser, base_url, locale=locale)
        page = ctx.new_page()
        _watch(page, console)
        page.goto("/lessons")
        page.wait_for_selector("body[data-ready]")
        assert page.locator("html").get_attribute("lang") == lang, locale
        assert page.locator(".site-nav a[href='/lessons']").inner_text() == word
        # a default is not a choice: nothing is stored, so it keeps following the browser
        assert "lang" not in {c["name"] for c in ctx.cookies()}
        ctx.close()
    # q-values, not just the first tag
    ctx = _context(browser, base_url, extra_http_headers={"Accept-Language": "fr;q=1, zh;q=0.7, en;q=0.3"})
    page = ctx.new_page()
    page.goto("/lessons")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    ctx.close()
    assert console.unexpected() == []


def test_a_choice_kept_in_local_storage_is_restored_when_the_cookie_is_gone(browser, base_url, console):
    ctx = _context(browser, base_url, locale="en-US")
    ctx.add_init_script("try { localStorage.setItem('backprop-lab:lang', 'zh') } catch (e) {}")
    page = ctx.new_page()
    _watch(page, console)
    page.goto("/lessons")
    page.wait_for_selector("body[data-ready]")
    assert page.locator(".site-nav a[href='/lessons']").inner_text() == "课程"
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert {c["name"]: c["value"] for c in ctx.cookies()}["lang"] == "zh"  # the server will render it next time
    ctx.close()
    assert console.unexpected() == []


def test_every_message_has_a_chinese_text_with_the_same_placeholders(new_page):
    page = new_page("/lessons", wait_ready=False)
    page.wait_for_selector("body[data-ready]")
    cat = page.evaluate(CATALOGUES)
    en, zh = cat["en"], cat["zh"]
    assert len(en) > 250
    missing = sorted(set(en) - set(zh))
    assert missing == [], f"no Chinese for {missing[:20]}"
    # op.* and example.*.description: the API holds their English
    extra = sorted(k for k in set(zh) - set(en) if not k.startswith("op.") and not re.fullmatch(r"example\.[\w-]+\.description", k))
    assert extra == [], f"Chinese without English: {extra[:20]}"
    params = re.compile(r"\{([a-zA-Z_]\w*)\}")  # {name}, not LaTeX's {2} or {x}-style groups in lesson prose
    for key in en:
        if key.startswith("lesson."):
            continue  # lesson prose holds LaTeX braces; its slots are checked below
        assert set(params.findall(en[key])) == set(params.findall(zh[key])), key
    slots = re.compile(r"\{\{[\w:-]+\}\}")
    for key in en:
        if key.startswith("lesson."):
            assert slots.findall(en[key]) == slots.findall(zh[key]), key
    from app.graph.ops import REGISTRY

    assert sorted(k[3:] for k in zh if k.startswith("op.")) == sorted(REGISTRY)
    from app.graph.examples import EXAMPLES

    assert sorted(k[8:-12] for k in zh if re.fullmatch(r"example\.[\w-]+\.description", k)) == sorted(EXAMPLES)
    # Chinese texts are really Chinese (a copied English string would pass the checks above)
    untranslated = [k for k in zh if zh[k] == en.get(k) and re.search(r"[a-z]{4,}\s+[a-z]{3,}\s+[a-z]{3,}", en[k])]
    assert untranslated == [], untranslated


def test_the_chinese_interface_has_no_english_left_on_the_editor(browser, base_url, console):
    ctx = _context(browser, base_url, locale="zh-CN")
    page = ctx.new_page()
    _watch(page, console)
    page.goto("/")
    page.wait_for_selector("body[data-ready]")
    wait_evaluated(page)
    visible = page.evaluate("""() => [...document.querySelectorAll('[data-i18n]')]
        .filter(e => e.offsetParent !== null).map(e => e.textContent.trim())""")
    english = [s for s in visible if re.search(r"[A-Za-z]{3,} [A-Za-z]{3,}", s) and not re.search(r"[\u4e00-\u9fff]", s)]
    assert english == [], english
    # the examples' descriptions (the API's English) show in Chinese when hovered
    titles = page.evaluate("() => [...document.querySelectorAll('#example-select option[value]:not([value=\"\"])')].map(o => o.title)")
    assert len(titles) >= 8
    assert [s for s in titles if not re.search(r"[\u4e00-\u9fff]", s)] == [], titles
    assert page.evaluate("() => document.querySelector('#example-select option[value=apple]').title").startswith("2 个苹果")
    assert page.title() == "计算图编辑器 · 反向传播实验室"
    ctx.close()
    assert console.unexpected() == []


def test_a_runs_configuration_reads_in_chinese_on_the_dashboard(browser, base_url, console):
    import httpx

    r = httpx.post(f"{base_url}/api/runs", json={"iterations": 50, "eval_every": 50, "train_limit": 500,
                                                 "test_limit": 100, "seed": 3, "batch_size": 100})
    assert r.status_code == 201, r.text
    ctx = _context(browser, base_url, locale="zh-CN")
    page = ctx.new_page()
    _watch(page, console)
    page.goto(f"/train?run={r.json()['id']}")
    page.wait_for_selector("body[data-ready]")
    page.wait_for_function("() => document.querySelector('#run-config').textContent.includes('784-')")
    header = page.locator("#run-config").text_content()
    assert header == "784-50-10 ReLU · SGD lr 0.1 · 批量 100 · 50 次迭代 · 训练 500 · 测试 100"
    cell = page.locator(f"tr:has-text('{r.json()['id']}') .config-cell").first.text_content()
    assert "批量 100" in cell and "batch" not in cell
    ctx.close()
    assert console.unexpected() == []
