"""`manage.py runserver` serving the site's ASGI application (llmsite/asgi.py) with uvicorn.

Django's own runserver is a WSGI server: it would hold a thread for every waiting client and,
worse for a gateway, read a streamed answer to its end before sending any of it (Django
consumes an async iterator whole under WSGI), so a chat UI tried against it shows nothing
until the reply is done. This command keeps runserver's arguments, checks, reloader and
messages, and serves the same application the Procfile's gunicorn serves, with uvicorn (one
of the project's requirements), as Daphne's runserver does for Channels projects.
"""

import errno
import os

from django.core.management.commands.runserver import Command as DjangoRunserver
from django.db import connections
from django.utils import autoreload

ERRORS = {
    errno.EACCES: "You don't have permission to access that port.",
    errno.EADDRINUSE: "That port is already in use.",
    errno.EADDRNOTAVAIL: "That IP address can't be assigned to.",
}


class Command(DjangoRunserver):
    help = "Starts a lightweight web server for development, serving the ASGI application (streams included)."
    protocol = "http"

    def inner_run(self, *args, **options):
        autoreload.raise_last_exception()
        if not options["skip_checks"]:
            self.stdout.write("Performing system checks...\n\n")
            self.check(display_num_errors=True)
        self.check_migrations()
        for connection in connections.all(initialized_only=True):
            connection.close()
        self._serve(options.get("shutdown_message", ""))

    def _serve(self, shutdown_message):
        import uvicorn

        from llmsite.asgi import application

        config = uvicorn.Config(
            application, host=self.addr, port=int(self.port), lifespan="off", log_level="info",
            # The reloader (Django's, around this command) restarts the process on a code change.
            timeout_graceful_shutdown=5,
        )
        server = uvicorn.Server(config)
        try:
            sockets = [config.bind_socket()]
        except OSError as exc:
            self.stderr.write(f"Error: {ERRORS.get(exc.errno, exc)}")
            os._exit(1)  # as Django's runserver: under the reloader this runs in a thread, where SystemExit would not end it
        self.on_bind(sockets[0].getsockname()[1])
        self.stdout.write("Serving the ASGI application with uvicorn: streamed answers go out as they are made.")
        try:
            server.run(sockets=sockets)
        except KeyboardInterrupt:
            pass
        if shutdown_message:
            self.stdout.write(shutdown_message)
