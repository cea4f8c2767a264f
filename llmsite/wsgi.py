"""
WSGI config for llmsite project.

It exposes the WSGI callable as a module-level variable named ``application``.

For more information on this file, see
https://docs.djangoproject.com/en/5.2/howto/deployment/wsgi/
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'llmsite.settings')

application = get_wsgi_application()

# The web server starts: sockets left in LLM_RUN_DIR by processes that died go.
from llm.queue import wakeups  # noqa: E402

wakeups.sweep()
