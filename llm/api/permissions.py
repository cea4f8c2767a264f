"""Who may call what: every call needs an active token; some need an admin one.

    class SwitchViewSet(viewsets.ViewSet):
        permission_classes = [IsAdminToken]

A `generate` token may generate, read status and models, and read or cancel its
own requests; an `admin` token may also pull, switch, unload and work the queue.
Reusable by any DRF view authenticated with `ApiKeyAuthentication`.
"""

from rest_framework import permissions

from llm.models import ApiToken, GenerationRequest

ADMIN_ONLY_MESSAGE = "This needs an admin token; this token's role is {role}"


class HasApiToken(permissions.BasePermission):
    """Any active token, whatever its role (the API's default)."""

    def has_permission(self, request, view):
        return isinstance(request.auth, ApiToken)


class IsAdminToken(HasApiToken):
    """An active token with the `admin` role; a `generate` token gets 403."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False  # DRF answers 401: no token at all
        if not request.auth.is_admin:
            self.message = ADMIN_ONLY_MESSAGE.format(role=request.auth.role)
            return False
        return True


def own_requests(token):
    """The generations a token may see or cancel: its own, whatever its role."""
    return GenerationRequest.objects.filter(token=token)
