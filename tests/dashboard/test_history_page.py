"""The history charts on the dashboard: a range switch, the figures of llm/dashboard/history.py, drawn as SVG."""

import pytest
from django.utils import timezone

from llm.dashboard import charts
from tests.support.history import LLAMA, PHI, seed_hour

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(monkeypatch):
    """The seeded hour, with the dashboard's clock at its NOW."""
    now = seed_hour()
    monkeypatch.setattr(timezone, "now", lambda: now)
    return now


def test_the_dashboard_shows_the_last_day_by_default(staff_client, standin, seeded):
    response = staff_client.get("/")
    assert response.context["history"]["range"] == "day"
    assert b'id="history"' in response.content and b'id="chart-requests"' in response.content


def test_the_switch_shows_the_hour_with_its_totals(staff_client, seeded):
    response = staff_client.get("/history/?range=hour")
    totals = response.context["history"]["totals"]
    assert totals == {"requests": 7, "failed": 1, "cancelled": 2, "loads": 3, "fcfs_loads": 4, "saved": 1}
    html = response.content.decode()
    assert 'data-test="loads-saved">1 saved<' in html
    assert 'aria-current="true" class="current">Last hour<' in html


def test_the_week_holds_what_finished_before_the_hour_too(staff_client, seeded):
    totals = staff_client.get("/history/?range=week").context["history"]["totals"]
    assert totals["requests"] == 8


def test_an_unknown_range_shows_the_day(staff_client, seeded):
    assert staff_client.get("/history/?range=year").context["history"]["range"] == "day"


def test_each_bar_and_line_says_its_number(staff_client, seeded):
    html = staff_client.get("/history/?range=hour").content.decode()
    assert f"<title>11:55 {LLAMA}: 2</title>" in html
    assert f"<title>12:00 {PHI}: 1</title>" in html
    assert "11:55 p50: 311 s; 12:00 p50: 21 s" in html
    assert f"11:55 {LLAMA}: 25 tok/s; 12:00 {LLAMA}: 45 tok/s" in html
    assert "<title>11:55 failed: 1</title>" in html and "<title>12:00 cancelled: 1</title>" in html


def test_the_charts_scale_to_a_round_number_above_the_highest_value(staff_client, seeded):
    history = staff_client.get("/history/?range=hour").context["history"]
    assert (history["requests"]["top"], history["waits"]["top"], history["speed"]["top"]) == ("5", "500 s", "50 tok/s")


def test_an_empty_range_says_so_instead_of_drawing(staff_client):
    response = staff_client.get("/history/?range=hour")
    assert response.content.decode().count("Nothing in this range.") == 5


def test_the_history_needs_a_staff_member(client, member_client):
    assert member_client.get("/history/").status_code == 403


@pytest.mark.parametrize("value, top", [(0, 1), (0.3, 0.5), (1, 1), (7, 10), (11, 20), (45, 50), (360, 500)])
def test_the_scale_tops_at_one_two_or_five_times_a_power_of_ten(value, top):
    assert charts.nice_ceiling(value) == pytest.approx(top)
