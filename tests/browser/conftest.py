"""Chromium (the Debian package) driven by Playwright against the live server; screenshots in tests/screenshots."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import service_missing

CHROMIUM = os.environ.get("GUICHET_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"
VIEWPORT = {"width": 1366, "height": 768}


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the whole run (each test opens its own contexts)."""
    if not Path(CHROMIUM).exists():
        service_missing(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    vendor = Path(__file__).resolve().parents[2] / "app" / "static" / "vendor" / "bpmn-js"
    if not vendor.is_dir():
        pytest.fail("app/static/vendor is missing: run `make assets` (npm install + scripts/vendor-assets.mjs)",
                    pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium: Any, live_server: Any) -> Iterator[Any]:
    """new_page(locale='en-GB') -> a page of a fresh browser context (own cookies) on the live server."""
    contexts = []
    errors: list[str] = []

    def _open(locale: str = "en-GB") -> Any:
        context = chromium.new_context(viewport=VIEWPORT, locale=locale, base_url=live_server.url)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
        return page

    yield _open
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors: {errors}"


def sign_in(page: Any, username: str, password: str = "pw-secret") -> None:
    """Fill the login form as a person would."""
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("form:has(input[name=password]) button[type=submit]")


def shot(page: Any, name: str, *, full_page: bool = False) -> Path:
    """Save a screenshot under tests/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
