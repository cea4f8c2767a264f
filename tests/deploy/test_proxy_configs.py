"""The reverse proxy examples pass nginx's and Caddy's own checks, and keep streams unbuffered."""

import os
import re
import subprocess

import pytest

from tests.deploy.conftest import DEPLOY

NGINX_SITE = DEPLOY / "nginx/llm-gateway.conf"
CADDYFILE = DEPLOY / "caddy/Caddyfile"
CERT_DIR = "/etc/letsencrypt/live/llm.example.com"


@pytest.fixture
def nginx_conf(tmp_path, program):
    """A main nginx.conf around the example site, with a self-signed certificate where certbot's would be."""
    openssl = program("openssl", "openssl")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=llm.example.com", "-keyout", str(tmp_path / "privkey.pem"),
                    "-out", str(tmp_path / "fullchain.pem")], check=True, capture_output=True)
    site = tmp_path / "site.conf"
    site.write_text(NGINX_SITE.read_text().replace(CERT_DIR, str(tmp_path)))
    temp_paths = "\n".join(f"    {kind}_temp_path {tmp_path}/{kind};"
                           for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main = tmp_path / "nginx.conf"
    main.write_text(f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
                    f"http {{\n    access_log off;\n{temp_paths}\n    include {site};\n}}\n")
    return main


def nginx_test(nginx, conf):
    return subprocess.run([nginx, "-t", "-q", "-c", str(conf), "-p", str(conf.parent), "-e", str(conf.parent / "e.log")],
                          capture_output=True, text=True)


def test_nginx_accepts_the_example(program, nginx_conf):
    result = nginx_test(program("nginx", "nginx-light"), nginx_conf)
    assert result.returncode == 0, result.stderr


def test_nginx_would_refuse_a_broken_example(program, nginx_conf):
    site = nginx_conf.parent / "site.conf"
    site.write_text(site.read_text().replace("proxy_buffering off;", "proxy_buffering sometimes;"))
    assert nginx_test(program("nginx", "nginx-light"), nginx_conf).returncode != 0


def caddy_validate(caddy, caddyfile, home):
    env = {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(home), "XDG_CONFIG_HOME": str(home)}
    return subprocess.run([caddy, "validate", "--config", str(caddyfile), "--adapter", "caddyfile"],
                          capture_output=True, text=True, env=env)


def test_caddy_accepts_the_example(program, tmp_path):
    result = caddy_validate(program("caddy", "caddy"), CADDYFILE, tmp_path)
    assert result.returncode == 0, result.stderr


def test_caddy_would_refuse_a_broken_example(program, tmp_path):
    broken = tmp_path / "Caddyfile"
    broken.write_text(CADDYFILE.read_text().replace("flush_interval -1", "flush_interval sometimes"))
    assert caddy_validate(program("caddy", "caddy"), broken, tmp_path).returncode != 0


def test_nginx_streams_unbuffered_sends_the_forwarded_headers_and_waits_long_enough(settings):
    config = NGINX_SITE.read_text()
    for directive in ("proxy_buffering off;", "gzip off;", "proxy_set_header X-Forwarded-Proto $scheme;",
                      "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;", "proxy_set_header Host $host;",
                      "listen 443 ssl"):
        assert directive in config
    read_timeout = int(re.search(r"proxy_read_timeout (\d+)s;", config)[1])
    assert read_timeout > max(settings.LLM_COMPAT_WAIT_SECONDS, settings.LLM_GENERATION_TIMEOUT)


def test_caddy_flushes_at_once_compresses_nothing_and_waits_long_enough(settings):
    config = CADDYFILE.read_text()
    assert "flush_interval -1" in config
    assert not re.search(r"^\s*encode\b", config, re.MULTILINE)
    for timeout in ("response_header_timeout", "read_timeout"):
        seconds = int(re.search(rf"{timeout} (\d+)s", config)[1])
        assert seconds > max(settings.LLM_COMPAT_WAIT_SECONDS, settings.LLM_GENERATION_TIMEOUT)
