"""Who may change the service's state: admin tokens and staff users.

    actor = Actor.of(request)          # an API call: its token; the dashboard: its user
    require_operator(actor)            # NotAllowed (403) for a generate token or a non-staff user

A `generate` token may generate, read status and models, and read or cancel its own
requests, through every door; loading, unloading, switching, pulling, deleting and
working the queue are for operators.
"""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from llm.models import ApiToken

ADMIN_ONLY_MESSAGE = "This needs an admin token; this token's role is {role}"
STAFF_ONLY_MESSAGE = "This needs a staff user"


class NotAllowed(Exception):
    """The caller may not do this (403)."""


@dataclass(frozen=True)
class Actor:
    """Who asks: an API token, or a signed-in user (the dashboard). The audit log names them."""

    token: ApiToken | None = None
    user: AbstractBaseUser | AnonymousUser | None = None

    @classmethod
    def of(cls, request) -> "Actor":
        """The caller of a DRF or Django request. An API call is its token's, not the token owner's."""
        token = getattr(request, "auth", None)
        if isinstance(token, ApiToken):
            return cls(token=token)
        user = getattr(request, "user", None)
        return cls(user=user if user is not None and user.is_authenticated else None)

    @property
    def is_operator(self) -> bool:
        if self.token is not None:
            return self.token.is_admin
        return self.user is not None and self.user.is_active and self.user.is_staff

    def refusal(self) -> str:
        if self.token is not None:
            return ADMIN_ONLY_MESSAGE.format(role=self.token.role)
        return STAFF_ONLY_MESSAGE

    def audit_fields(self) -> dict:
        return {"token": self.token, "user": self.user}


def require_operator(actor: Actor) -> None:
    """Raise NotAllowed unless `actor` may change the service's state."""
    if not actor.is_operator:
        raise NotAllowed(actor.refusal())
