"""The dashboard in a real browser, against the web server, the worker and the Ollama stand-in."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import MEMBER, screenshot

pytestmark = pytest.mark.browser

# Long enough to watch a bar move and reload the page in the middle.
SLOW_PULL_SECONDS = 6
A_PERCENT_BETWEEN_0_AND_100 = re.compile(r"^([1-9]\d?)(\.\d)?%$")


def catalog_row(page, model):
    return page.locator(f'#catalog tr[data-model="{model}"]')


def enqueue(service, count, model="llama3.2:3b"):
    ids = []
    for n in range(count):
        response = service.post("/generate", {"model": model, "prompt": f"job number {n}", "wait": False})
        assert response.status_code == 202, response.text
        ids.append(response.json()["request_id"])
    return ids


def test_a_staff_member_logs_in_and_sees_ollama_and_the_loaded_model(page, service, standin):
    service.post("/switch", {"model": "llama3.2:3b"})
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    page.get_by_label("Username").fill("olga")
    page.get_by_label("Password").fill("operator-password-1")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator('[data-test="ollama-state"]')).to_have_text("reachable")
    expect(page.locator('[data-test="ollama-version"]')).to_have_text("0.12.6")
    expect(page.locator('[data-test="loaded-model"]')).to_have_text("llama3.2:3b")
    expect(page.locator("#ollama")).to_contain_text(re.compile(r"Loaded\s+(now|an? \w+ ago|\d+\s\w+ ago)"))
    expect(page.locator("#ollama")).to_contain_text("minutes from now")
    screenshot(page, "dashboard")


def test_the_page_loads_htmx_and_everything_else_from_this_server_only(staff_page, service, standin):
    seen = []
    staff_page.on("request", lambda request: seen.append(request.url))
    with staff_page.expect_request(lambda request: request.url.endswith("/live/")):
        staff_page.reload()
    assert staff_page.evaluate("typeof htmx") == "object"
    assert seen and all(url.startswith(service.url + "/") for url in seen), seen


def test_pull_shows_a_moving_bar_that_survives_a_reload_and_reaches_100_percent(staff_page, standin):
    standin.configure(pull_seconds=SLOW_PULL_SECONDS)
    catalog_row(staff_page, "llama3.2:1b").get_by_role("button", name="Pull").click()
    expect(staff_page.locator(".message")).to_have_text("Pulling llama3.2:1b: follow it under Pulls.")

    percent = staff_page.locator('#pulls .pull[data-model="llama3.2:1b"] .percent').first
    expect(percent).to_have_text(A_PERCENT_BETWEEN_0_AND_100)
    seen = percent.inner_text()
    expect(percent).not_to_have_text(seen)  # it moves without a reload
    screenshot(staff_page, "pull-in-progress")

    staff_page.reload()
    expect(percent).to_have_text(A_PERCENT_BETWEEN_0_AND_100)  # read back from the database
    expect(staff_page.locator('#pulls .pull[data-model="llama3.2:1b"] progress')).to_be_visible()

    expect(percent).to_have_text("100%", timeout=SLOW_PULL_SECONDS * 1000 + 10_000)
    expect(staff_page.locator('#installed tr[data-model="llama3.2:1b"]')).to_contain_text("GB")
    expect(catalog_row(staff_page, "llama3.2:1b").get_by_role("button", name="Switch")).to_be_visible()
    screenshot(staff_page, "pull-done")


def test_switch_changes_the_loaded_model(staff_page, service, standin):
    service.post("/switch", {"model": "llama3.2:3b"})
    expect(staff_page.locator('[data-test="loaded-model"]')).to_have_text("llama3.2:3b")
    catalog_row(staff_page, "phi4:mini").get_by_role("button", name="Switch").click()
    expect(staff_page.locator(".message")).to_have_text("Switched to phi4:mini.")
    expect(staff_page.locator('[data-test="loaded-model"]')).to_have_text("phi4:mini")
    expect(catalog_row(staff_page, "phi4:mini")).to_contain_text("loaded")


def test_switch_to_a_model_that_is_not_installed_says_to_pull_it_first(staff_page, service, standin):
    service.post("/switch", {"model": "llama3.2:3b"})
    # The catalog row offers Pull, not Switch; post the Switch form as a stale page would.
    staff_page.evaluate(
        """() => {
            const form = document.querySelector('#catalog tr[data-model="phi4:mini"] form');
            form.querySelector('input[name=model]').value = 'gemma3:4b';
            form.submit();
        }"""
    )
    expect(staff_page.locator(".message.error")).to_have_text(
        "Could not switch to gemma3:4b: Model gemma3:4b is not installed in Ollama; pull it first"
    )


def test_generations_from_the_api_appear_in_the_queue_and_leave_it_without_a_reload(
    staff_page, service, standin, paused_worker
):
    ids = enqueue(service, 3)
    waiting = staff_page.locator("#waiting")
    for position, request_id in enumerate(ids, start=1):
        expect(waiting.locator("tr", has_text=request_id)).to_contain_text(f"{position} {request_id}")
    expect(staff_page.locator('[data-test="queue-length"]')).to_have_text("3 waiting")
    screenshot(staff_page, "queue")

    service.start_worker()
    expect(waiting).to_have_text("No request is waiting.", timeout=30_000)
    for request_id in ids:
        expect(staff_page.locator("#finished tr", has_text=request_id)).to_contain_text("done")


def test_clear_queue_asks_first_then_cancels_the_waiting_requests(staff_page, service, standin, paused_worker):
    ids = enqueue(service, 2)
    expect(staff_page.locator("#waiting tr", has_text=ids[-1])).to_be_visible()
    staff_page.once("dialog", lambda dialog: dialog.accept())
    staff_page.get_by_role("button", name="Clear queue").click()
    expect(staff_page.locator(".message")).to_have_text("Cleared 2 waiting requests from the queue.")
    expect(staff_page.locator("#waiting")).to_have_text("No request is waiting.")
    expect(staff_page.locator("#finished tr", has_text=ids[0])).to_contain_text("cancelled")


def test_unload_frees_the_model(staff_page, service, standin):
    service.post("/switch", {"model": "llama3.2:3b"})
    expect(staff_page.locator('[data-test="loaded-model"]')).to_have_text("llama3.2:3b")
    staff_page.get_by_role("button", name="Unload").click()
    expect(staff_page.locator(".message")).to_have_text("Unloaded llama3.2:3b: its memory is free.")
    expect(staff_page.locator('[data-test="loaded-model"]')).to_have_text("none")
    assert standin.counters()["max_resident"] <= 1


def test_a_prompt_tried_from_the_browser_goes_through_the_queue_to_its_answer(staff_page, standin):
    staff_page.get_by_role("link", name="Try a prompt").click()
    staff_page.get_by_label("Model").select_option("llama3.2:3b")
    staff_page.get_by_label("Prompt").fill("Hello from the browser")
    staff_page.get_by_role("button", name="Queue it").click()
    expect(staff_page.locator('[data-test="request-status"]')).to_have_text("done")
    expect(staff_page.locator('[data-test="request-response"]')).to_have_text("echo: Hello from the browser")
    expect(staff_page.locator("#timings")).to_contain_text("Generated tokens")
    screenshot(staff_page, "request")


def test_an_anonymous_visitor_is_sent_to_the_login_page(page, service):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.locator("#panels")).to_have_count(0)


def test_a_user_who_is_not_staff_is_refused(page, service):
    page.goto("/accounts/login/?next=/")
    page.get_by_label("Username").fill(MEMBER[0])
    page.get_by_label("Password").fill(MEMBER[1])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("403 Forbidden")).to_be_visible()
    assert page.goto("/").status == 403
    expect(page.locator("#panels")).to_have_count(0)
