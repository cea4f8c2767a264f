"""Helpers for the deployment kit's tests (deploy/)."""

import os
import shutil

import pytest

from tests.support.service import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"


@pytest.fixture
def program():
    """`program("nginx", "nginx-light")`: the program's path; without it a skip, or under CI a failure."""

    def find(name, package):
        path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
        if path:
            return path
        message = f"{name} is missing: bin/test installs the Debian package {package} when run as root"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)

    return find
