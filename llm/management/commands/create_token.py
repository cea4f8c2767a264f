from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from llm import audit
from llm.models import ApiToken


class Command(BaseCommand):
    help = "Create an API token and print its key, once (only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="What the token is for, e.g. 'blog backend'")
        parser.add_argument("--owner", help="Username of the token's owner")
        parser.add_argument(
            "--role", choices=ApiToken.Role.values, default=ApiToken.Role.GENERATE,
            help="generate (the default): generate and read; admin: also pull, switch and work the queue",
        )
        parser.add_argument("--expires-in-days", type=int, help="The token stops working after this many days")

    def handle(self, name, owner=None, role=ApiToken.Role.GENERATE, expires_in_days=None, **options):
        token, raw = create_token(name, owner, role, expires_in_days)
        self.stdout.write(raw)
        expiry = f", expires {token.expires_at:%Y-%m-%d %H:%M} UTC" if token.expires_at else ""
        self.stderr.write(
            f"Created {token.role} token {token.name!r}{expiry}. Keep the key above: it cannot be shown again."
        )


def create_token(name, owner=None, role=ApiToken.Role.GENERATE, expires_in_days=None):
    user = None
    if owner:
        user = get_user_model().objects.filter(username=owner).first()
        if user is None:
            raise CommandError(f"No user named {owner!r}")
    if expires_in_days is not None and expires_in_days < 1:
        raise CommandError("--expires-in-days must be at least 1")
    token, raw = ApiToken.issue(name, owner=user)
    token.role = role
    token.expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
    token.save(update_fields=["role", "expires_at"])
    audit.record(audit.Action.TOKEN_CREATE, token, token_id=token.pk, role=role, via="create_token")
    return token, raw
