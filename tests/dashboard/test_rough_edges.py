"""What a new user tripped over: a queued pull, the icon, the admin's columns, the loaded model's time."""

import pytest
from django.utils import timezone

from llm.engine import residency
from llm.models import ApiToken, GenerationRequest, ModelPull

pytestmark = pytest.mark.django_db(transaction=True)


def not_installed(standin, model="gemma3:4b"):
    standin.request("DELETE", "/api/delete", {"model": model})


def test_a_queued_pull_waits_to_pull_in_the_catalog_and_shows_no_bytes(staff_client, standin):
    not_installed(standin)
    ModelPull.objects.create(model="gemma3:4b", tag="gemma3:4b", status="queued")
    response = staff_client.get("/")
    [row] = [row for row in response.context["catalog"] if row["entry"].name == "gemma3:4b"]
    assert row["pull_status"] == "queued"
    html = response.content.decode()
    assert '<span class="badge queued">waiting to pull</span>' in html
    assert ">pulling<" not in html
    assert "0 bytes of 0 bytes" not in html and "0\xa0bytes of 0\xa0bytes" not in html
    assert "Waiting for its turn" in html


def test_a_running_pull_before_its_first_figures_says_it_is_starting(staff_client, standin):
    not_installed(standin)
    ModelPull.objects.create(model="gemma3:4b", tag="gemma3:4b", status="running", started_at=timezone.now())
    html = staff_client.get("/").content.decode()
    assert '<span class="badge running">pulling</span>' in html
    assert "Starting: Ollama has not said the size yet." in html and "0\xa0bytes" not in html


def test_the_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"].endswith("llm/favicon.svg")


def test_pages_link_the_icon(staff_client, standin):
    assert b'rel="icon" href="/static/llm/favicon.svg"' in staff_client.get("/").content


def test_the_service_token_reads_with_one_pair_of_parentheses(settings):
    settings.LLM_SERVICE_TOKEN = "bootstrap-secret-value"
    token = ApiToken.objects.authenticate("bootstrap-secret-value")
    assert str(token) == "LLM_SERVICE_TOKEN (environment)"
    assert str(ApiToken.issue("ci")[0]).startswith("ci (llm_")


def test_the_admin_request_list_names_the_service_token_once(admin_client, settings):
    settings.LLM_SERVICE_TOKEN = "bootstrap-secret-value"
    token = ApiToken.objects.authenticate("bootstrap-secret-value")
    GenerationRequest.objects.create(model="llama3.2:1b", prompt="x", token=token)
    html = admin_client.get("/admin/llm/generationrequest/").content.decode()
    assert "<td class=\"field-token_name\">LLM_SERVICE_TOKEN</td>" in html and "((environment)" not in html


def test_the_admin_token_list_shows_the_role_as_one_word_and_links_to_usage(admin_client, alice_token):
    html = admin_client.get("/admin/llm/apitoken/").content.decode()
    table = html[html.index('id="result_list"'):]
    table = table[:table.index("</table>")]
    assert '<td class="field-role_name">generate</td>' in table
    assert "generate: generate, read status" not in table
    assert f'<a href="/usage/#token-{alice_token[0].pk}">0 requests</a>' in html


def test_the_admin_pull_list_shows_sizes_in_units(admin_client):
    ModelPull.objects.create(model="gemma3:4b", tag="gemma3:4b", status="done", completed_bytes=3_338_801_804,
                             total_bytes=3_338_801_804, finished_at=timezone.now())
    html = admin_client.get("/admin/llm/modelpull/").content.decode()
    assert "3.1\xa0GB" in html and "3338801804" not in html


def test_a_model_the_worker_loaded_after_a_swap_shows_when_it_was_loaded(staff_client, standin, api, inline_worker):
    residency.switch_to("llama3.2:3b", wait=5)
    response = api.post("/api/v1/llm/generate", {"model": "phi4:mini", "prompt": "hi", "wait": True}, format="json")
    assert response.status_code == 200
    page = staff_client.get("/")
    loaded = page.context["ollama"]["loaded"]
    assert loaded["name"] == "phi4:mini" and loaded["since"] is not None
    assert b"not by this gateway" not in page.content


def test_a_model_ollama_lists_while_the_gateway_still_loads_it_reads_as_loading(staff_client, standin):
    # Ollama lists a model in /api/ps as soon as it starts loading it; the gateway records the load
    # (audit, llm/engine/residency.py) once it is done. In between, the engine lease is held.
    residency.switch_to("llama3.2:3b", wait=5)
    standin.request("POST", "/api/generate", {"model": "llama3.2:3b", "keep_alive": 0, "stream": False})
    standin.request("POST", "/api/generate", {"model": "phi4-mini", "keep_alive": "5m", "stream": False})
    with residency.engine(wait=5) as holder:
        assert holder is not None
        page = staff_client.get("/")
    assert page.context["ollama"]["loaded"]["loading"] is True
    assert b"loading now, by the gateway" in page.content and b"not by this gateway" not in page.content
    assert b"not by this gateway" in staff_client.get("/").content  # the lease is free: someone else loaded it
