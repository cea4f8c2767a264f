from django.core.management.base import BaseCommand, CommandError

from llm import backups


class Command(BaseCommand):
    help = (
        "Copy the database while the service runs: SQLite's online backup API (a consistent snapshot), "
        "or pg_dump on PostgreSQL. Prints the backup's path."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "path", nargs="?",
            help="Where to write the backup (default: $LLM_DATA_DIR/backups/db-<UTC time>.sqlite3 or .pgdump)",
        )

    def handle(self, path=None, **options):
        try:
            written = backups.backup(path)
        except backups.BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(str(written))
