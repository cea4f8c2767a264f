"""History charts, usage per token and the rough edges a new user found, in Chromium at desktop and phone width."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.support.service import poll

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}


@pytest.fixture(scope="module")
def history(service):
    """The seeded story of tests/support/history.py, ending now, in the service's database."""
    service.manage("shell", "-c", "from tests.support.history import seed_recent; seed_recent()")
    return service


def at_width(page, size):
    page.set_viewport_size(size)
    return page


def no_horizontal_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_history_charts_at_desktop_width(staff_page, history, standin):
    staff_page.goto("/?range=hour")
    panel = staff_page.locator("#history")
    expect(panel.locator("figure.chart")).to_have_count(5)
    expect(panel.locator('[data-test="history-totals"]')).to_contain_text("7 requests")
    expect(panel.locator('[data-test="history-totals"]')).to_contain_text("1 failed")
    expect(panel.locator('[data-test="history-totals"]')).to_contain_text("2 cancelled")
    expect(panel.locator('[data-test="loads-saved"]')).to_have_text("1 saved")
    expect(panel.locator("#chart-requests svg rect")).not_to_have_count(0)
    expect(panel.locator("#chart-waits svg polyline")).not_to_have_count(0)
    assert no_horizontal_scroll(staff_page)
    panel.scroll_into_view_if_needed()
    screenshot(staff_page, "history-desktop")


def test_the_range_switch_redraws_the_charts_in_place(staff_page, history, standin):
    staff_page.goto("/?range=hour")
    staff_page.locator("#history").get_by_role("link", name="Last week").click()
    expect(staff_page.locator("#history .switch a.current")).to_have_text("Last week")
    expect(staff_page).to_have_url(re.compile(r"\?range=week$"))
    # the week also holds the request that finished before the hour
    expect(staff_page.locator('[data-test="history-totals"]')).to_contain_text("8 requests")


def test_the_history_charts_at_phone_width(staff_page, history, standin):
    at_width(staff_page, PHONE).goto("/?range=hour")
    chart = staff_page.locator("#chart-requests svg")
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    scale = staff_page.locator("#chart-requests .scale span").first
    assert float(scale.evaluate("e => getComputedStyle(e).fontSize").removesuffix("px")) >= 11
    assert no_horizontal_scroll(staff_page)
    staff_page.locator("#history").scroll_into_view_if_needed()
    screenshot(staff_page, "history-phone")


def test_at_phone_width_log_out_is_whole_and_the_queue_comes_before_the_pulls(staff_page, standin):
    at_width(staff_page, PHONE).goto("/")
    logout = staff_page.get_by_role("button", name="Log out")
    expect(logout).to_be_visible()
    box = logout.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    queue, pulls = staff_page.locator("#queue").bounding_box(), staff_page.locator("#pulls").bounding_box()
    assert queue["y"] < pulls["y"]
    assert no_horizontal_scroll(staff_page)
    screenshot(staff_page, "dashboard-phone")


def test_the_usage_page_sorts_and_is_linked_from_the_admin_token_list(staff_page, history, standin):
    history.manage("create_token", "nightly batch")
    staff_page.goto("/admin/llm/apitoken/")
    row = staff_page.locator("#result_list tr", has_text="nightly batch")
    row.get_by_role("link", name="0 requests").click()
    expect(staff_page).to_have_url(re.compile(r"/usage/#token-\d+$"))
    expect(staff_page.locator("#usage-table tr:target")).to_contain_text("nightly batch")
    staff_page.locator('#usage-table th a[data-sort="name"]').click()
    expect(staff_page.locator('#usage-table th[aria-sort="descending"]')).to_contain_text("Token")
    staff_page.locator('#usage-table th a[data-sort="name"]').click()
    expect(staff_page.locator('#usage-table th[aria-sort="ascending"]')).to_contain_text("Token")
    screenshot(staff_page, "usage")


def test_no_page_asks_for_something_that_is_not_there_not_even_an_icon(staff_page, standin):
    failed = []
    staff_page.on("response", lambda response: failed.append(response.url) if response.status >= 400 else None)
    for path in ("/", "/usage/", "/try/", "/admin/"):
        staff_page.goto(path)
        staff_page.wait_for_load_state("networkidle")
    assert failed == []
    icon = staff_page.request.get("/favicon.ico")
    assert icon.ok and icon.headers["content-type"].startswith("image/svg+xml")


def test_a_queued_pull_waits_to_pull_and_shows_no_bytes(staff_page, standin, paused_worker):
    staff_page.locator('#catalog tr[data-model="gemma3:4b"]').get_by_role("button", name="Pull").click()
    expect(staff_page.locator('#catalog tr[data-model="gemma3:4b"] .badge')).to_have_text("waiting to pull")
    pull = staff_page.locator('#pulls .pull[data-model="gemma3:4b"]')
    expect(pull).to_contain_text("Waiting for its turn")
    expect(pull).not_to_contain_text("bytes")
    screenshot(staff_page, "pull-queued")
    pull.get_by_role("button", name="Cancel").click()


def test_admin_lists_fit_a_laptop_screen_with_short_rows(staff_page, history, standin):
    history.manage("create_token", "ops", "--role", "admin")
    history.post("/pull", {"model": "llama3.2:3b"})
    at_width(staff_page, LAPTOP)
    for name in ("apitoken", "generationrequest", "modelpull", "auditentry"):
        staff_page.goto(f"/admin/llm/{name}/")
        expect(staff_page.locator("#result_list")).to_be_visible()
        assert no_horizontal_scroll(staff_page), name
        assert staff_page.evaluate("(e => e.scrollWidth <= e.clientWidth)(document.querySelector('.results'))"), name
        heights = staff_page.locator("#result_list tbody tr").evaluate_all("rows => rows.map(r => r.offsetHeight)")
        assert heights and max(heights) < 60, (name, heights)
        screenshot(staff_page, f"admin-{name}")
    staff_page.goto("/admin/llm/modelpull/")
    expect(staff_page.locator("#result_list td.field-total").first).to_have_text(re.compile(r"^[\d.]+\s(KB|MB|GB)$"))
    staff_page.goto("/admin/llm/generationrequest/")
    expect(staff_page.locator("#result_list")).not_to_contain_text("((environment)")


def test_a_model_the_worker_loaded_after_a_swap_shows_when_it_was_loaded(staff_page, service, standin):
    service.post("/switch", {"model": "llama3.2:3b"})
    response = service.post("/generate", {"model": "phi4:mini", "prompt": "after a swap", "wait": True})
    assert response.status_code == 200, response.text
    staff_page.goto("/")
    expect(staff_page.locator('[data-test="loaded-model"]')).to_have_text("phi4:mini")
    expect(staff_page.locator("#ollama")).to_contain_text(re.compile(r"Loaded\s+(now|an? \w+ ago|\d+\s\w+ ago)"))
    expect(staff_page.locator("#ollama")).not_to_contain_text("not by this gateway")


def test_queue_process_after_the_worker_drained_the_queue_says_so(service, standin):
    request_id = service.post("/generate", {"model": "llama3.2:3b", "prompt": "x", "wait": False}).json()["request_id"]
    poll(lambda: service.get(f"/requests/{request_id}").json()["status"] == "done", 30, message="the worker's run")
    body = service.post("/queue/process", {"max_iterations": 5}).json()
    assert (body["processed"], body["remaining"]) == (0, 0)
    assert "The worker runs queued requests as they arrive" in body["message"]
