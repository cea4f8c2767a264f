#!/bin/sh
# Upgrade a gateway installed by deploy/install.sh, losing nothing from the queue. Run as root.
#
# 1. back up the database (while the service runs);
# 2. stop the worker: it finishes the generation in hand (up to LLM_GENERATION_TIMEOUT); the web
#    server still accepts requests meanwhile, and they wait in the queue (rows in the database);
# 3. stop the web server: it answers the calls in flight (WEB_GRACEFUL_TIMEOUT);
# 4. pull the code, install the locked dependencies, migrate, collect static files;
# 5. start the web server, then the worker: it puts back anything left running and runs the queue.
set -eu
# In braces: `git pull` may rewrite this very file while it runs, and sh reads as it goes.
{
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "deploy/upgrade.sh: run it as root" >&2; exit 1; }

echo ">>> Backup: $(llm-gateway-manage backup_db)"
systemctl stop llm-gateway-worker.service
systemctl stop llm-gateway-web.service
git pull --ff-only
.venv/bin/pip install --disable-pip-version-check -q --require-hashes -r requirements.lock
(set -a; . /etc/llm-gateway/llm-gateway.env; set +a; LLM_DATA_DIR=$(mktemp -d) .venv/bin/python manage.py collectstatic --noinput -v0)
.venv/bin/python -m compileall -q llm llmsite >/dev/null
llm-gateway-manage migrate --noinput
# Units may have changed too.
install -m 0644 deploy/systemd/llm-gateway-*.service deploy/systemd/llm-gateway-*.timer /etc/systemd/system/
systemctl daemon-reload
systemctl start llm-gateway-web.service llm-gateway-worker.service
echo ">>> Upgraded to $(git log -1 --format='%h %s')"
exit 0
}
