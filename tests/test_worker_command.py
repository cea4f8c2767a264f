"""manage.py worker: the Procfile's worker, django-q2's cluster with the system checks but the URLconf's."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

ROOT = Path(__file__).resolve().parents[1]


def test_the_worker_refuses_to_start_with_a_setting_ollama_cannot_read(tmp_path):
    env = {**os.environ, "LLM_KEEP_ALIVE": "-1", "LLM_DATA_DIR": str(tmp_path)}  # nothing written in the checkout
    result = subprocess.run(
        [sys.executable, "manage.py", "worker"], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode != 0
    assert "llm.E003" in result.stderr


def test_manage_py_check_still_runs_the_gateway_checks(settings):
    settings.LLM_KEEP_ALIVE = "-1"
    with pytest.raises(SystemCheckError, match="llm.E003"):
        call_command("check")
