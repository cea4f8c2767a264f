import ollama
import openai
import pytest

from tests.support.service import Service, print_logs_after_a_failure
from tests.support.standin import Standin

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="package")
def e2e_standin():
    with Standin.start(load_seconds=0.1, token_seconds=0.005, pull_seconds=0.5) as process:
        yield process


@pytest.fixture(scope="package")
def service(e2e_standin):
    """gunicorn + qcluster as the Procfile runs them, on a database of their own.

    One for every module of tests/e2e that does not start its own (with other settings):
    each test works with requests of its own and `standin` resets the stand-in."""
    with Service.start(e2e_standin) as running:
        yield running


@pytest.fixture
def standin(e2e_standin, service):
    """The stand-in, reset between tests (models unloaded, counters at zero)."""
    e2e_standin.reset(state=True)
    e2e_standin.configure(faults={}, load_seconds=0.1, token_seconds=0.005, pull_seconds=0.5, ram_mb=4096)
    return e2e_standin


@pytest.fixture
def ollama_client(service):
    """The official Ollama client, pointed at the Ollama door with the service's token."""
    return ollama.Client(host=service.url + "/ollama", headers={"Authorization": f"Bearer {service.token}"})


@pytest.fixture
def openai_client(service):
    """The official OpenAI client, pointed at the OpenAI door with the service's token."""
    return openai.OpenAI(base_url=service.url + "/v1", api_key=service.token, max_retries=0)


@pytest.fixture(autouse=True)
def _print_logs_on_failure(request, service):
    yield from print_logs_after_a_failure(request, service)
