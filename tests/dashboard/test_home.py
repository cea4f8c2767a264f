"""The home page: Ollama, the queue, the models and the pulls at a glance."""

from datetime import timedelta

import pytest
from django.utils import timezone

from llm.engine import residency
from llm.models import GenerationRequest, ModelPull

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_shows_that_ollama_is_reachable_and_its_version(staff_client, standin):
    response = staff_client.get("/")
    assert response.status_code == 200
    ollama = response.context["ollama"]
    assert ollama["up"] is True and ollama["version"] == "0.12.6"
    assert b"reachable" in response.content and b"0.12.6" in response.content


def test_it_says_when_the_ollama_behind_is_the_projects_stand_in(staff_client, standin):
    response = staff_client.get("/")
    assert response.context["ollama"]["standin"] == "echo"
    assert b"stand-in" in response.content and b"fake echo text" in response.content


def test_it_never_shows_credentials_from_ollama_host(staff_client, standin, settings):
    settings.OLLAMA_HOST = standin.url.replace("http://", "http://admin:s3cret@")
    response = staff_client.get("/")
    assert b"s3cret" not in response.content
    assert standin.url.encode() in response.content


def test_it_shows_the_loaded_model_and_when_its_keep_alive_runs_out(staff_client, standin, settings):
    settings.LLM_KEEP_ALIVE = "5m"
    residency.switch_to("llama3.2:3b", wait=5)
    response = staff_client.get("/")
    loaded = response.context["ollama"]["loaded"]
    assert loaded["name"] == "llama3.2:3b"
    assert timedelta(minutes=4) < loaded["expires_at"] - timezone.now() <= timedelta(minutes=5)
    assert abs(loaded["last_used"] - timezone.now()) < timedelta(seconds=30)
    assert abs(loaded["since"] - timezone.now()) < timedelta(seconds=30)
    assert b'data-test="loaded-model">llama3.2:3b<' in response.content


def test_a_model_loaded_outside_the_gateway_has_no_loading_time(staff_client, standin):
    residency.switch_to("llama3.2:3b", wait=5)
    standin.request("POST", "/api/generate", {"model": "llama3.2:3b", "keep_alive": 0, "stream": False})
    standin.request("POST", "/api/generate", {"model": "phi4-mini", "keep_alive": "5m", "stream": False})
    loaded = staff_client.get("/").context["ollama"]["loaded"]
    assert (loaded["name"], loaded["since"]) == ("phi4:mini", None)


def test_it_says_so_when_no_model_is_loaded(staff_client, standin):
    response = staff_client.get("/")
    assert response.context["ollama"]["loaded"] is None
    assert b'data-test="loaded-model" class="muted">none<' in response.content


def test_a_keep_alive_of_forever_never_unloads(staff_client, standin, settings):
    settings.LLM_KEEP_ALIVE = "-1m"
    residency.switch_to("llama3.2:1b", wait=5)
    loaded = staff_client.get("/").context["ollama"]["loaded"]
    assert loaded["expires_at"] is None and loaded["last_used"] is None


def test_it_says_when_ollama_is_not_reachable(staff_client, standin):
    standin.configure(faults={"down": True})
    response = staff_client.get("/")
    assert response.status_code == 200
    assert response.context["ollama"]["up"] is False
    assert b"not reachable" in response.content


def test_the_queue_shows_position_request_model_token_waiting_time_and_status(staff_client, standin, alice_token):
    token, _ = alice_token
    first = GenerationRequest.objects.create(token=token, model="llama3.2:1b", prompt="one")
    second = GenerationRequest.objects.create(token=None, model="phi4:mini", prompt="two")
    response = staff_client.get("/")
    assert [(request.position, request.request_id) for request in response.context["waiting"]] == [
        (1, first.request_id),
        (2, second.request_id),
    ]
    assert response.context["waiting_count"] == 2
    html = response.content.decode()
    assert first.request_id in html and "alice&#x27;s script" in html and "phi4:mini" in html
    assert "2 waiting" in html


def test_the_queue_is_listed_in_the_order_the_worker_will_follow(staff_client, standin, settings):
    settings.LLM_SCHEDULER = "swap-aware"
    now = timezone.now()
    GenerationRequest.objects.create(
        model="phi4:mini", prompt="ran last", status="done", started_at=now - timedelta(seconds=5), finished_at=now
    )
    older = GenerationRequest.objects.create(model="llama3.2:1b", prompt="older, another model")
    younger = GenerationRequest.objects.create(model="phi4:mini", prompt="younger, the loaded model")
    waiting = staff_client.get("/").context["waiting"]
    assert [(request.position, request.pk) for request in waiting] == [(1, younger.pk), (2, older.pk)]


def test_the_queue_shows_the_running_request_with_its_elapsed_time(staff_client, standin):
    GenerationRequest.objects.create(
        model="llama3.2:1b", prompt="go", status="running", started_at=timezone.now() - timedelta(seconds=75)
    )
    [running] = staff_client.get("/").context["running"]
    assert running.elapsed == "1 min 15 s"


def test_the_queue_shows_the_last_finished_requests_with_duration_and_outcome(staff_client, standin):
    now = timezone.now()
    GenerationRequest.objects.create(
        model="llama3.2:1b", prompt="ok", status="done", started_at=now - timedelta(seconds=2), finished_at=now
    )
    GenerationRequest.objects.create(
        model="llama3.2:1b", prompt="bad", status="failed", error="Ollama is not reachable", finished_at=now
    )
    response = staff_client.get("/")
    outcomes = {request.prompt: (request.status, request.took) for request in response.context["finished"]}
    assert outcomes == {"ok": ("done", "2.0 s"), "bad": ("failed", None)}
    assert b"Ollama is not reachable" in response.content


def test_installed_models_have_human_readable_sizes_and_dates(staff_client, standin):
    standin.configure(installed=["llama3.2:1b"])
    response = staff_client.get("/")
    [model] = response.context["installed"]
    assert model["name"] == "llama3.2:1b" and model["modified_at"] is not None
    html = response.content.decode()
    assert "1.2\xa0GB" in html
    assert timezone.now().strftime("%Y-%m-%d") in html


def test_the_catalog_offers_pull_for_missing_models_and_switch_for_installed_ones(staff_client, standin):
    standin.configure(installed=["llama3.2:1b", "phi4-mini"])
    rows = {row["entry"].name: row for row in staff_client.get("/").context["catalog"]}
    assert {name for name, row in rows.items() if row["installed"]} == {"llama3.2:1b", "phi4:mini"}
    html = staff_client.get("/").content.decode()
    assert html.count(">Switch</button>") == 2
    assert html.count(">Pull</button>") == 4
    assert ">Pull all</button>" in html


def test_a_running_pull_shows_bytes_percent_and_speed_with_a_cancel_button(staff_client, standin):
    started = timezone.now() - timedelta(seconds=10)
    ModelPull.objects.create(
        model="gemma3:4b",
        tag="gemma3:4b",
        status="running",
        completed_bytes=1024**3,
        total_bytes=4 * 1024**3,
        started_at=started,
    )
    asked = timezone.now()
    response = staff_client.get("/")
    answered = timezone.now()
    [pull] = response.context["active_pulls"]
    # The speed is the bytes over the time since the start, as of the moment the page was made.
    assert 1024**3 / (answered - started).total_seconds() <= pull.bytes_per_second
    assert pull.bytes_per_second <= 1024**3 / (asked - started).total_seconds()
    html = response.content.decode()
    assert "25%" in html and "1.0\xa0GB of 4.0\xa0GB" in html and "MB/s" in html
    assert f'action="/pulls/{pull.pk}/cancel/"' in html
    assert "<progress" in html


def test_finished_pulls_stay_listed_with_their_outcome(staff_client, standin):
    ModelPull.objects.create(
        model="qwen3:4b", tag="qwen3:4b", status="failed", error="pull model manifest: file does not exist",
        finished_at=timezone.now(),
    )
    response = staff_client.get("/")
    assert [pull.model for pull in response.context["recent_pulls"]] == ["qwen3:4b"]
    assert b"pull model manifest: file does not exist" in response.content


def test_the_live_partial_is_the_panels_without_the_page_around_them(staff_client, standin):
    response = staff_client.get("/live/", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert 'id="panels"' in html and 'hx-trigger="every 1s"' in html
    assert "<html" not in html


def test_the_page_loads_htmx_from_our_own_static_files(staff_client, standin):
    html = staff_client.get("/").content.decode()
    assert '<script src="/static/django_htmx/htmx-2.min.js"' in html
    assert "https://" not in html and "http://cdn" not in html
