"""Browser tests of the local stack: Playwright driving Debian's chromium (Playwright cannot
download its own browsers here), against `paysync dev` on free ports under a temporary home.

Screenshots and page HTML go to `tests/ui/artifacts/` (or `$PAYSYNC_UI_ARTIFACTS`): one per
step of each flow, and one named after the test when it fails.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import playwright.sync_api as playwright_api
import pytest

from tests.ui.stack import Stack, local_stack

ARTIFACTS = Path(os.environ.get("PAYSYNC_UI_ARTIFACTS", Path(__file__).parent / "artifacts"))
# Without the background-networking flags chromium's own connections (updates, sync,
# metrics) are refused by this machine's closed network and slow every page down.
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
# Dagster's pages poll and re-render; a step of a flow can wait this long for what it expects.
EXPECT_TIMEOUT_MS = 30_000


def chromium_path() -> str:
    path = os.environ.get("PAYSYNC_CHROMIUM") or shutil.which("chromium")
    if path is None:
        pytest.fail(
            "the browser tests need Debian's chromium: apt-get install -y chromium"
            " (or set PAYSYNC_CHROMIUM to a chromium binary)"
        )
    return path


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[Stack]:
    with local_stack(tmp_path_factory.mktemp("stack"), artifacts) as running:
        yield running


@pytest.fixture(scope="session")
def browser() -> Iterator[playwright_api.Browser]:
    executable = chromium_path()
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(
    browser: playwright_api.Browser, stack: Stack, request: pytest.FixtureRequest
) -> Iterator[playwright_api.Page]:
    context = browser.new_context(
        base_url=stack.dagster_url, viewport={"width": 1400, "height": 900}
    )
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    playwright_api.expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            path = save_page(page, stack.artifacts, f"FAILED-{request.node.name}")
            print(
                f"\nscreenshot of the failure: {path} (and .html);"
                f" paysync dev's log: {stack.dev_log}"
            )
        context.close()


def save_page(page: playwright_api.Page, folder: Path, name: str) -> Path:
    """A full-page screenshot and the page's HTML, named `name`; returns the screenshot."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)
    screenshot = folder / f"{stem}.png"
    try:
        page.screenshot(path=screenshot, full_page=True)
        (folder / f"{stem}.html").write_text(page.content())
    except playwright_api.Error as error:  # a crashed page still lets the test report
        (folder / f"{stem}.error.txt").write_text(str(error))
    return screenshot
