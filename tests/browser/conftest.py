"""Browser tests: Debian's Chromium, driven by Playwright, against the real processes.

The web server and the worker run as the Procfile runs them (tests.support.service),
in front of the Ollama stand-in. Chromium reaches nothing but loopback. Screenshots
go to test-artifacts/screenshots/ for a person to look at.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.service import REPO_ROOT, Service
from tests.support.standin import Standin

CHROMIUM = Path(os.getenv("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Loopback only: no proxy, and every host name but localhost fails to resolve.
    "--no-proxy-server",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
]
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "screenshots"
STAFF = ("olga", "operator-password-1")
MEMBER = ("bob", "member-password-1")
# What the stand-in has installed at the start of each test.
INSTALLED = ["llama3.2:3b", "phi4-mini"]


@pytest.fixture(scope="package")
def browser():
    if not CHROMIUM.exists():
        missing = f"No Chromium at {CHROMIUM}: install Debian's chromium package (bin/test does, as root)"
        pytest.fail(missing) if os.getenv("CI") else pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def browser_standin():
    with Standin.start(load_seconds=0.1, token_seconds=0.005, pull_seconds=0.5, installed=INSTALLED) as process:
        yield process


@pytest.fixture(scope="package")
def static_root(tmp_path_factory):
    """collectstatic, as a deployment runs it: the pages ask for hashed file names."""
    root = tmp_path_factory.mktemp("static")
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=REPO_ROOT, env={**os.environ, "STATIC_ROOT": str(root)}, check=True,
    )
    return root


@pytest.fixture(scope="module")
def service(browser, browser_standin, static_root):
    with Service.start(browser_standin, env={"STATIC_ROOT": str(static_root)}) as running:
        running.manage(
            "createsuperuser", "--noinput", "--username", STAFF[0], "--email", "olga@example.com",
            env={"DJANGO_SUPERUSER_PASSWORD": STAFF[1]},
        )
        running.manage(
            "shell", "-c",
            f"from django.contrib.auth.models import User; User.objects.create_user({MEMBER[0]!r}, password={MEMBER[1]!r})",
        )
        yield running


@pytest.fixture
def standin(browser_standin, service):
    """The stand-in as at start-up: nothing loaded, INSTALLED installed."""
    browser_standin.reset(state=True)
    return browser_standin


@pytest.fixture
def page(browser, service, request):
    context = browser.new_context(base_url=service.url, viewport={"width": 1440, "height": 1100})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        screenshot(page, f"failed-{request.node.name}")
        print(service.logs())
    context.close()


@pytest.fixture
def staff_page(page):
    log_in(page, *STAFF)
    return page


@pytest.fixture
def paused_worker(service):
    """No worker: what is queued stays queued until the test starts one again."""
    service.kill_worker()
    yield service
    if service.worker.poll() is not None:
        service.start_worker()


def log_in(page, username, password):
    page.goto("/accounts/login/?next=/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)



def pytest_terminal_summary(terminalreporter):
    if SCREENSHOTS.is_dir() and any(SCREENSHOTS.glob("*.png")):
        terminalreporter.write_line(f"Screenshots of the dashboard: {SCREENSHOTS}")
