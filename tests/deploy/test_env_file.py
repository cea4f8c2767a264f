"""The environment file the units read (deploy/llm-gateway.env.example) makes a service fit for HTTPS."""

import os
import secrets
import subprocess
import sys

from tests.deploy.conftest import DEPLOY
from tests.support.service import REPO_ROOT


def env_file_settings():
    settings = {}
    for line in (DEPLOY / "llm-gateway.env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            settings[key.strip()] = value.strip()
    return settings


def manage(tmp_path, *args, **env):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          env={**os.environ, "LLM_DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
                               **env})


def test_the_example_env_file_passes_check_deploy_once_it_has_a_secret_key(tmp_path):
    settings = env_file_settings() | {"DJANGO_SECRET_KEY": secrets.token_urlsafe(50)}
    settings.pop("DATABASE_URL", None)
    result = manage(tmp_path, "check", "--deploy", **settings)
    assert result.returncode == 0, result.stderr
    # Only HSTS preloading is left to the operator: a promise to browsers that is theirs to make.
    warnings = [line for line in result.stderr.splitlines() if "?: (security." in line]
    assert [line.split(")")[0] for line in warnings] == ["?: (security.W021"], result.stderr


def test_forwarded_host_is_trusted_only_when_asked(tmp_path):
    show = ("shell", "-v", "0", "-c", "from django.conf import settings; print(settings.USE_X_FORWARDED_HOST)")
    assert manage(tmp_path, *show).stdout.strip() == "False"
    assert manage(tmp_path, *show, DJANGO_USE_X_FORWARDED_HOST="true").stdout.strip() == "True"
    refused = manage(tmp_path, *show, DJANGO_USE_X_FORWARDED_HOST="perhaps")
    assert refused.returncode != 0 and "DJANGO_USE_X_FORWARDED_HOST must be true or false" in refused.stderr
