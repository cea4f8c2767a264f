from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from llm.models import ApiToken


class Command(BaseCommand):
    help = "Create an API token and print its key, once (only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="What the token is for, e.g. 'blog backend'")
        parser.add_argument("--owner", help="Username of the token's owner")

    def handle(self, name, owner=None, **options):
        user = None
        if owner:
            user = get_user_model().objects.filter(username=owner).first()
            if user is None:
                raise CommandError(f"No user named {owner!r}")
        token, raw = ApiToken.issue(name, owner=user)
        self.stdout.write(raw)
        self.stderr.write(f"Created token {token.name!r}. Keep the key above: it cannot be shown again.")
