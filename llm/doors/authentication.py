from rest_framework import authentication, exceptions

from llm.doors.permissions import HasApiToken  # noqa: F401 (its old home; llm/doors/permissions.py now)
from llm.models import ApiToken


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`X-API-Key: <token>` or `Authorization: Bearer <token>`."""

    header = "HTTP_X_API_KEY"
    keyword = "Bearer"

    def authenticate(self, request):
        raw = self._raw_key(request)
        if not raw:
            return None
        token = ApiToken.objects.authenticate(raw)
        if token is None:
            raise exceptions.AuthenticationFailed()
        token.touch()
        return (token.owner, token)

    def authenticate_header(self, request):
        # Its presence makes DRF answer 401 rather than 403.
        return f'{self.keyword} realm="api"'

    def _raw_key(self, request):
        if raw := request.META.get(self.header, "").strip():
            return raw
        scheme, _, raw = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() == self.keyword.lower():
            return raw.strip()
        return None

