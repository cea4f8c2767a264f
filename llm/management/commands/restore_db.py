from django.core.management.base import BaseCommand, CommandError

from llm import backups


class Command(BaseCommand):
    help = (
        "Replace the database's content with a backup made by backup_db. Stop the web server and the worker "
        "first: it refuses while either runs. Run migrate afterwards when the backup is older than the code."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="A file written by backup_db")

    def handle(self, path, **options):
        try:
            backups.restore(path)
        except backups.BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stderr.write(f"Restored the database from {path}.")
