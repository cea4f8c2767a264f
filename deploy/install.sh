#!/bin/sh
# Install or update the gateway as systemd services on Debian/Ubuntu, from this checkout
# (clone it to /opt/llm-gateway first). Run as root; safe to run again.
#
#   git clone <repository> /opt/llm-gateway && LLM_DOMAIN=llm.example.org /opt/llm-gateway/deploy/install.sh
#
# Makes the user llm-gateway, the virtualenv (from requirements.lock, hashes checked),
# /etc/llm-gateway/llm-gateway.env (once, with a new secret key), the data folder
# /var/lib/llm-gateway, the units (web, worker, a daily backup), migrates and starts.
set -eu
APP_DIR=/opt/llm-gateway
ENV_FILE=/etc/llm-gateway/llm-gateway.env
cd "$(dirname "$0")/.."
if [ "$(pwd -P)" != "$APP_DIR" ]; then
  echo "deploy/install.sh: the units expect the checkout at $APP_DIR, not $(pwd -P)" >&2
  exit 1
fi
[ "$(id -u)" = 0 ] || { echo "deploy/install.sh: run it as root" >&2; exit 1; }

if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
fi
id llm-gateway >/dev/null 2>&1 ||
  useradd --system --home-dir /var/lib/llm-gateway --no-create-home --shell /usr/sbin/nologin llm-gateway
install -d -o llm-gateway -g llm-gateway -m 0750 /var/lib/llm-gateway
install -d -o root -g llm-gateway -m 0750 /etc/llm-gateway
if [ ! -e "$ENV_FILE" ]; then
  # The new key never appears on a command line (any local user can read those in ps); the file is
  # made private before anything is written to it.
  ( umask 077
    sed -e "s|llm\.example\.com|${LLM_DOMAIN:-llm.example.com}|g" deploy/llm-gateway.env.example |
      python3 -c 'import secrets, sys
for line in sys.stdin:
    sys.stdout.write(f"DJANGO_SECRET_KEY={secrets.token_urlsafe(50)}\n" if line.startswith("DJANGO_SECRET_KEY=") else line)' \
      > "$ENV_FILE" )
  chown root:llm-gateway "$ENV_FILE"
  chmod 0640 "$ENV_FILE"
  echo ">>> Wrote $ENV_FILE for ${LLM_DOMAIN:-llm.example.com} (LLM_DOMAIN): check ALLOWED_HOSTS and CSRF_TRUSTED_ORIGINS there."
fi

# The code stays root's: the service can read it, not change it.
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install --disable-pip-version-check -q --require-hashes -r requirements.lock
install -m 0755 deploy/llm-gateway-manage /usr/local/bin/llm-gateway-manage
# Static files and bytecode are written now, by root: the service's view of $APP_DIR is read-only.
(set -a; . "$ENV_FILE"; set +a; LLM_DATA_DIR=$(mktemp -d) .venv/bin/python manage.py collectstatic --noinput -v0)
.venv/bin/python -m compileall -q llm llmsite >/dev/null
llm-gateway-manage migrate --noinput -v0

install -m 0644 deploy/systemd/llm-gateway-web.service deploy/systemd/llm-gateway-worker.service \
  deploy/systemd/llm-gateway-backup.service deploy/systemd/llm-gateway-backup.timer /etc/systemd/system/
systemctl daemon-reload
systemctl enable llm-gateway-web.service llm-gateway-worker.service llm-gateway-backup.timer
systemctl restart llm-gateway-web.service llm-gateway-worker.service
systemctl start llm-gateway-backup.timer
echo ">>> Running: systemctl status llm-gateway-web llm-gateway-worker"
echo ">>> An API token: llm-gateway-manage create_token 'my script'   (--role admin for pulls and switches)"
