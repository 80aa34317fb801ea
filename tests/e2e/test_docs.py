"""/docs in Chromium: Swagger UI from static/vendor draws every operation, under the site's CSP, with no
request leaving the server, and "Try it out" reaches the API."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from support.browser import shot


def test_the_api_docs_draw_every_operation_from_this_server_alone(new_page, base_url) -> None:
    spec = httpx.get(f"{base_url}/openapi.json", timeout=30).json()
    operations = sum(len(item) for item in spec["paths"].values())
    page = new_page("/docs", wait_ready=False)
    hosts = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
    page.wait_for_selector("body[data-ready]")
    assert page.locator(".opblock").count() == operations
    assert page.locator(".info .title").inner_text().startswith("Backprop Lab")

    block = page.locator("#operations-catalog-examples_api_examples_get")
    block.locator(".opblock-summary").click()
    block.get_by_role("button", name="Try it out").click()
    block.get_by_role("button", name="Execute").click()
    response = block.locator(".live-responses-table tbody .response-col_status").first
    response.wait_for()
    assert response.inner_text().strip() == "200"
    assert "apple" in block.locator(".live-responses-table .microlight").first.inner_text()
    assert hosts <= {urlsplit(base_url).netloc}, hosts  # no CDN: works offline
    shot(page, "docs")
