"""manage.py prune [--dry-run]: remove old finished work now, as the retention settings say."""

from django.core.management.base import BaseCommand

from llm import retention


class Command(BaseCommand):
    help = "Prune old finished requests, their text, audit entries and pulls (LLM_KEEP_* settings)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="say what would be removed, remove nothing")

    def handle(self, *args, dry_run=False, **options):
        verb = "would be" if dry_run else "were"
        for step in retention.plan():
            count = step.run(dry_run)
            what, _, done = step.what.rpartition(" ")
            self.stdout.write(f"{count} {what} {verb} {done} (older than {step.before:%Y-%m-%d %H:%M %Z})")
