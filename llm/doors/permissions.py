"""DRF's side of the roles (llm/rules/roles.py): every call needs an active token; some need an admin one.

    class SwitchViewSet(viewsets.ViewSet):
        permission_classes = [IsAdminToken]

A `generate` token may generate, read status and models, and read or cancel its
own requests; an `admin` token may also pull, switch, unload and work the queue.
`IsAdminToken` refuses before the body is read; the actions of llm/rules/actions.py check
the same rule again, where only the body tells (the Ollama door's load and unload).
Reusable by any DRF view authenticated with `ApiKeyAuthentication`.
"""

from rest_framework import permissions

from llm.models import ApiToken, GenerationRequest
from llm.rules.roles import Actor


class HasApiToken(permissions.BasePermission):
    """Any active token, whatever its role (the API's default)."""

    def has_permission(self, request, view):
        return isinstance(request.auth, ApiToken)


class IsAdminToken(HasApiToken):
    """An active token with the `admin` role; a `generate` token gets 403."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False  # DRF answers 401: no token at all
        actor = Actor.of(request)
        if not actor.is_operator:
            self.message = actor.refusal()
            return False
        return True


def own_requests(token):
    """The generations a token may see or cancel: its own, whatever its role."""
    return GenerationRequest.objects.filter(token=token)
