"""Browser tests: the real app under uvicorn on 127.0.0.1, driven by Debian's Chromium."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from pathlib import Path

import pytest

from support.browser import wait_evaluated

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]

if not os.path.exists(CHROMIUM):
    pytest.skip(f"browser tests need {CHROMIUM} (apt-get install chromium)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright (pip install playwright)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def base_url(tmp_path_factory: pytest.TempPathFactory):
    """The real app (app.main:create_app) on a free port, with its data in a temporary directory."""
    import uvicorn

    data_dir = tmp_path_factory.mktemp("backprop-lab-data")
    old = os.environ.get("BACKPROP_LAB_DATA_DIR")
    os.environ["BACKPROP_LAB_DATA_DIR"] = str(data_dir)
    port = _free_port()
    config = uvicorn.Config("app.main:create_app", factory=True, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    if old is None:
        os.environ.pop("BACKPROP_LAB_DATA_DIR", None)
    else:
        os.environ["BACKPROP_LAB_DATA_DIR"] = old


@pytest.fixture(scope="session")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class ConsoleWatch:
    """Collects console errors and page errors; a test may allow some by pattern."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.allowed: list[re.Pattern[str]] = []

    def allow(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]


@pytest.fixture
def console() -> ConsoleWatch:
    return ConsoleWatch()


def _watch(page, console: ConsoleWatch) -> None:
    page.on("console", lambda m: console.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: console.errors.append(f"pageerror: {e}"))


@pytest.fixture
def new_page(browser, base_url, console):
    """Open pages in fresh contexts (no shared storage), each watched for console errors."""
    contexts = []

    def make(path: str = "/", viewport=(1280, 800), color_scheme: str = "light", wait_ready: bool = True):
        ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, color_scheme=color_scheme,
                                  accept_downloads=True, base_url=base_url)
        contexts.append(ctx)
        page = ctx.new_page()
        _watch(page, console)
        page.goto(path)
        if wait_ready:
            page.wait_for_selector("body[data-ready]")
            wait_evaluated(page)
        return page

    yield make
    for ctx in contexts:
        ctx.close()
    assert console.unexpected() == [], "console errors on the page"


@pytest.fixture
def page(new_page):
    return new_page()
