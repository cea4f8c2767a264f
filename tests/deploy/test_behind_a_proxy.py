"""The service behind the example proxies, for real: nginx and Caddy on 127.0.0.1 in front of gunicorn.

Streams reach the client while the generation still runs (no buffering), the service knows
it is reached over HTTPS (X-Forwarded-Proto), and /metrics stays on the box.
"""

import json
import os
import re
import signal
import subprocess
import warnings

import pytest
import requests
import urllib3

from tests.deploy.conftest import DEPLOY
from tests.support.service import API, Service, free_port, poll
from tests.support.standin import Standin

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def standin():
    with Standin.start(load_seconds=0.05, token_seconds=0.1, pull_seconds=0.3) as process:
        yield process


@pytest.fixture(scope="module")
def service(standin):
    """gunicorn + qcluster as on a VPS behind TLS: DJANGO_HTTPS=true (without the redirect, for the test's
    own plain-HTTP calls straight to gunicorn)."""
    env = {"DJANGO_HTTPS": "true", "DJANGO_SSL_REDIRECT": "false", "ALLOWED_HOSTS": "127.0.0.1,localhost", "CSRF_TRUSTED_ORIGINS": "https://127.0.0.1"}
    with Service.start(standin, env=env) as running:
        yield running


def run_proxy(argv, tmp_path, https_port):
    log = open(tmp_path / "proxy.log", "ab")
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               env={**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path),
                                    "XDG_CONFIG_HOME": str(tmp_path)}, start_new_session=True)

    session = requests.Session()
    session.trust_env = False

    def answers():
        assert process.poll() is None, (tmp_path / "proxy.log").read_text()
        try:
            session.get(f"https://127.0.0.1:{https_port}/", verify=False, timeout=2)
            return True
        except requests.RequestException:
            return False

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        poll(answers, 30, interval=0.1, message="the proxy")
    return process


def stop_proxy(process):
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


@pytest.fixture
def nginx(program, service, tmp_path):
    """The example nginx site, on loopback ports, with a self-signed certificate."""
    nginx, openssl = program("nginx", "nginx-light"), program("openssl", "openssl")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(tmp_path / "privkey.pem"), "-out", str(tmp_path / "fullchain.pem")],
                   check=True, capture_output=True)
    http_port, https_port = free_port(), free_port()
    site = (DEPLOY / "nginx/llm-gateway.conf").read_text()
    site = site.replace("/etc/letsencrypt/live/llm.example.com", str(tmp_path))
    site = site.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{service.port};")
    site = re.sub(r"listen \[::\]:\d+[^;]*;", "", site)
    site = site.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    site = site.replace("listen 443 ssl", f"listen 127.0.0.1:{https_port} ssl")
    (tmp_path / "site.conf").write_text(site)
    temp_paths = "".join(f"    {kind}_temp_path {tmp_path}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi",
                                                                                    "uwsgi", "scgi"))
    (tmp_path / "nginx.conf").write_text(
        f"daemon off;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n    access_log off;\n{temp_paths}    include {tmp_path}/site.conf;\n}}\n")
    process = run_proxy([nginx, "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path), "-e", str(tmp_path / "error.log")],
                        tmp_path, https_port)
    yield f"https://127.0.0.1:{https_port}", tmp_path / "fullchain.pem"
    stop_proxy(process)


@pytest.fixture
def caddy(program, service, tmp_path):
    """The example Caddyfile, on loopback ports, with Caddy's own local certificate authority."""
    caddy = program("caddy", "caddy")
    http_port, https_port = free_port(), free_port()
    config = (DEPLOY / "caddy/Caddyfile").read_text()
    config = config.replace("reverse_proxy 127.0.0.1:8000", f"reverse_proxy 127.0.0.1:{service.port}")
    config = config.replace("llm.example.com {", "127.0.0.1 {\n\tbind 127.0.0.1\n\ttls internal")
    config = (f"{{\n\tadmin off\n\thttp_port {http_port}\n\thttps_port {https_port}\n\tskip_install_trust\n"
              f"\tauto_https disable_redirects\n\tstorage file_system {tmp_path}/caddy\n}}\n\n{config}")
    (tmp_path / "Caddyfile").write_text(config)
    process = run_proxy([caddy, "run", "--config", str(tmp_path / "Caddyfile"), "--adapter", "caddyfile"],
                        tmp_path, https_port)
    yield f"https://127.0.0.1:{https_port}", tmp_path / "caddy/pki/authorities/local/root.crt"
    stop_proxy(process)


@pytest.fixture(params=["nginx", "caddy"])
def proxy(request):
    """The URL of the proxy and the certificate of the authority its certificate comes from."""
    return request.getfixturevalue(request.param)


def through(proxy, service):
    """A client of the proxy that trusts its certificate, and nothing from the environment."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(proxy[1])
    session.headers["X-API-Key"] = service.token
    return session


def test_a_stream_reaches_the_client_through_the_proxy_while_the_generation_runs(proxy, service):
    session = through(proxy, service)
    body = {"model": "llama3.2:1b", "prompt": "stream me", "stream": True, "options": {"max_tokens": 30}}  # ~3 s
    with session.post(proxy[0] + API + "/generate", json=body, stream=True, timeout=120) as answer:
        assert answer.status_code == 200
        lines = (json.loads(line) for line in answer.iter_lines() if line)
        first_text = next(line for line in lines if line.get("response"))
        # The first words are here and the generation has not ended: nothing held them back.
        assert service.get("/status").json()["is_processing"] is True, first_text
        last = list(lines)[-1]
    assert last["done"] is True


def test_the_service_knows_it_is_reached_over_https_through_the_proxy(proxy, service):
    answer = through(proxy, service).get(proxy[0] + API + "/status", timeout=30)
    assert answer.status_code == 200, answer.text
    # Django adds HSTS to secure requests only: it read the proxy's X-Forwarded-Proto.
    assert "max-age=" in answer.headers["Strict-Transport-Security"]
    straight = service.get("/status", timeout=30)
    assert straight.status_code == 200 and "Strict-Transport-Security" not in straight.headers


def test_metrics_are_not_served_through_the_proxy(proxy, service):
    assert through(proxy, service).get(proxy[0] + "/metrics", timeout=30).status_code == 404
