"""Fit before load: a model that cannot fit in memory is refused with both numbers."""

import shutil
from collections import namedtuple

import pytest

from llm.engine import pulls
from llm.models import GenerationRequest

pytestmark = pytest.mark.django_db(transaction=True)

GIB = 1024**3
DiskUsage = namedtuple("DiskUsage", "total used free")


@pytest.fixture
def meminfo(tmp_path, settings):
    """Pretend the box has `available` bytes of MemAvailable."""
    path = tmp_path / "meminfo"
    settings.LLM_MEMINFO_PATH = str(path)
    settings.LLM_MEMORY_HEADROOM_MB = 256

    def set_available(available):
        path.write_text(f"MemTotal:       4000000 kB\nMemAvailable:   {available // 1024} kB\n")

    return set_available


def test_switch_to_a_model_that_cannot_fit_is_refused_naming_both_numbers(admin_api, standin, meminfo):
    meminfo(2 * GIB)
    response = admin_api.post("/api/v1/llm/switch", {"model": "gemma3:4b"}, format="json")
    assert response.status_code == 409
    message = response.json()["message"]
    assert message.startswith("Model gemma3:4b needs 3,184 MiB of memory but only 1,792 MiB would be free")
    assert standin.counters()["loads"] == 0


def test_the_loaded_models_memory_counts_as_free(api, standin, meminfo, inline_worker):
    meminfo(4 * GIB)
    assert api.post("/api/v1/llm/generate", {"model": "llama3.2:3b", "prompt": "first"}, format="json").status_code == 200
    meminfo(1 * GIB)  # llama3.2:3b (1.9 GiB) now holds most of the memory
    response = api.post("/api/v1/llm/generate", {"model": "phi4:mini", "prompt": "second"}, format="json")
    assert response.status_code == 200
    assert standin.counters()["max_resident"] == 1


def test_a_generation_for_a_model_that_cannot_fit_fails_with_the_reason(api, standin, meminfo, inline_worker):
    meminfo(1 * GIB)
    response = api.post("/api/v1/llm/generate", {"model": "qwen3:4b", "prompt": "too big"}, format="json")
    assert response.status_code == 502
    assert "needs 2,382 MiB of memory but only 768 MiB would be free" in response.json()["message"]
    assert GenerationRequest.objects.get().status == "failed"


def test_status_says_which_catalog_models_fit(api, standin, meminfo):
    meminfo(int(2.5 * GIB))
    fits = api.get("/api/v1/llm/status").json()["models_fit"]
    assert fits["llama3.2:1b"] is True and fits["gemma3:4b"] is False


def test_a_pull_that_cannot_fit_on_disk_fails_naming_both_numbers(standin, settings, monkeypatch):
    settings.LLM_MODELS_DIR = "/"
    monkeypatch.setattr(shutil, "disk_usage", lambda path: DiskUsage(10 * GIB, 9 * GIB, GIB))
    standin.configure(installed=[])
    pull = pulls.request_pull("gemma3:4b")
    pulls.drain()
    pull.refresh_from_db()
    assert pull.status == "failed"
    assert pull.error.startswith("Pulling gemma3:4b needs ")
    assert pull.error.endswith("but / has 1,024 MiB free")
