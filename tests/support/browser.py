"""Headless Chromium from Debian's `chromium` package, driven by Playwright; never a downloaded browser."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def require_chromium() -> None:
    """Skip (or, under CI, fail) when Debian's chromium or the playwright package is missing."""
    missing = [] if Path(CHROMIUM).exists() else ["chromium (apt-get install chromium)"]
    for module, package in (
        ("playwright.sync_api", "playwright"),
        ("axe_playwright_python", "axe-playwright-python"),
    ):
        try:
            __import__(module)
        except ImportError:
            missing.append(f"{package} (pip install {package})")
    if not missing:
        return
    message = f"browser tests need: {', '.join(missing)}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def chromium() -> Iterator[Browser]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def screenshots(page: Page, folder: Path, name: str) -> None:
    """The page as it is now, at phone and desktop widths (full height), into `folder`; at each width
    axe-core (bundled with axe-playwright-python, run inside the page) must find no violation."""
    from axe_playwright_python.sync_playwright import Axe

    for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        page.screenshot(path=str(folder / f"{name}-{label}.png"), full_page=True)
        found = Axe().run(page).response["violations"]
        assert not found, f"{name} ({label}): " + "; ".join(
            f"{v['id']}: {v['help']} ({len(v['nodes'])}x: {v['nodes'][0]['html'][:80]})" for v in found
        )
    page.set_viewport_size(DESKTOP)
