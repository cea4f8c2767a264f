"""The systemd units are accepted by systemd itself and say what the deployment needs."""

import os
import re
import shutil
import subprocess

import pytest

from tests.deploy.conftest import DEPLOY

UNITS = sorted((DEPLOY / "systemd").glob("llm-gateway-*"))
SERVICES = {unit.name: unit for unit in UNITS if unit.suffix == ".service"}


def settings_of(unit):
    """Every KEY=value of a unit file, as a dict of lists (a key may repeat)."""
    found = {}
    for line in unit.read_text().splitlines():
        if match := re.match(r"^([A-Za-z]+)=(.*)$", line):
            found.setdefault(match[1], []).append(match[2])
    return found


@pytest.fixture
def root(tmp_path):
    """A file system root where every path the units name exists (stub programs, empty env file)."""
    (tmp_path / "usr/lib/systemd").mkdir(parents=True)
    shutil.copytree("/usr/lib/systemd/system", tmp_path / "usr/lib/systemd/system", symlinks=True)
    (tmp_path / "bin").symlink_to("usr/bin")
    for name in ("usr/bin/kill", "usr/bin/sh", "opt/llm-gateway/.venv/bin/gunicorn", "opt/llm-gateway/.venv/bin/python"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    (tmp_path / "etc/llm-gateway").mkdir(parents=True)
    (tmp_path / "etc/llm-gateway/llm-gateway.env").write_text((DEPLOY / "llm-gateway.env.example").read_text())
    (tmp_path / "var/lib/llm-gateway").mkdir(parents=True)
    (tmp_path / "etc/systemd/system").mkdir(parents=True)
    for unit in UNITS:
        shutil.copy(unit, tmp_path / "etc/systemd/system" / unit.name)
    return tmp_path


def test_systemd_analyze_verify_accepts_every_unit_without_a_warning(program, root):
    systemd_analyze = program("systemd-analyze", "systemd")
    units = [str(root / "etc/systemd/system" / unit.name) for unit in UNITS]
    result = subprocess.run([systemd_analyze, "verify", f"--root={root}", *units], capture_output=True, text=True,
                            env={**os.environ, "SYSTEMD_LOG_LEVEL": "notice"})
    assert result.returncode == 0 and result.stderr == "" and result.stdout == "", result.stderr + result.stdout


def test_systemd_analyze_verify_would_catch_a_missing_program(program, root):
    systemd_analyze = program("systemd-analyze", "systemd")
    (root / "opt/llm-gateway/.venv/bin/gunicorn").unlink()
    result = subprocess.run([systemd_analyze, "verify", f"--root={root}",
                             str(root / "etc/systemd/system/llm-gateway-web.service")], capture_output=True, text=True)
    assert result.returncode != 0 and "gunicorn" in result.stderr


def test_the_web_server_and_the_worker_run_as_a_dedicated_user_in_a_hardened_sandbox():
    for name in ("llm-gateway-web.service", "llm-gateway-worker.service"):
        unit = settings_of(SERVICES[name])
        assert unit["User"] == ["llm-gateway"], name
        assert unit["ProtectSystem"] == ["strict"] and unit["PrivateTmp"] == ["yes"], name
        assert unit["NoNewPrivileges"] == ["yes"] and unit["ProtectHome"] == ["yes"], name
        assert unit["ReadWritePaths"] == ["/var/lib/llm-gateway"], name
        assert "LLM_DATA_DIR=/var/lib/llm-gateway" in unit["Environment"][0], name
        assert unit["EnvironmentFile"] == ["/etc/llm-gateway/llm-gateway.env"], name
        assert unit["Restart"] == ["on-failure"], name
        assert int(unit["LimitNOFILE"][0]) >= 65536, name
        # SIGTERM to the main process only: gunicorn and qcluster stop their children in order.
        assert unit["KillMode"] == ["mixed"], name


def test_the_worker_may_finish_the_longest_generation_before_it_is_killed(settings):
    worker = settings_of(SERVICES["llm-gateway-worker.service"])
    assert int(worker["TimeoutStopSec"][0]) > settings.LLM_GENERATION_TIMEOUT
    web = settings_of(SERVICES["llm-gateway-web.service"])
    assert int(web["TimeoutStopSec"][0]) > int(os.getenv("WEB_GRACEFUL_TIMEOUT", "30"))


def test_the_install_and_upgrade_scripts_are_valid_shell():
    for script in ("install.sh", "upgrade.sh", "llm-gateway-manage"):
        result = subprocess.run(["sh", "-n", str(DEPLOY / script)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


def test_the_upgrade_stops_the_worker_before_the_web_server_and_migrates_before_starting_them():
    steps = [line.strip() for line in (DEPLOY / "upgrade.sh").read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]

    def at(fragment):
        return next(n for n, line in enumerate(steps) if fragment in line)

    assert at("backup_db") < at("stop llm-gateway-worker") < at("stop llm-gateway-web") < at("git pull")
    assert at("git pull") < at("--require-hashes -r requirements.lock") < at("migrate") < at("systemctl start")
