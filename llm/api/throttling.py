"""Per-token rate limits, with DRF's throttling; a refused call is a 429 with Retry-After.

Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] under "<scope>.<role>",
so admin tokens can have their own:

    "token.generate": "300/min",  "token.admin": "3000/min",            every call
    "generation.generate": "60/min", "generation.admin": "600/min",     calls that queue a generation

A rate of None means no limit. The counts live in Django's cache: the default
local-memory cache is right for the one web process `llmsite/gunicorn.py` runs;
more web processes need a shared cache (see README, "Security").
"""

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from llm.models import ApiToken


class TokenRateThrottle(SimpleRateThrottle):
    """Every API call, counted per token. The API's default throttle."""

    scope = "token"

    def __init__(self):
        # The rate depends on the caller's role, so it is chosen in allow_request.
        self.rate = self.num_requests = self.duration = None

    def allow_request(self, request, view):
        token = request.auth
        if not isinstance(token, ApiToken):
            return True  # refused before this by the permissions; nothing to count
        self.rate = api_settings.DEFAULT_THROTTLE_RATES.get(f"{self.scope}.{token.role}")
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.refused_request = request
        return super().allow_request(request, view)

    def throttle_failure(self):
        # Counted once per refused call, though both throttles of a view may refuse it.
        request = self.refused_request
        if not getattr(request, "_llm_refusal_counted", False):
            request._llm_refusal_counted = True
            request.auth.count_refusal()
        return False

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class GenerationRateThrottle(TokenRateThrottle):
    """Calls that queue a generation, per token: the expensive ones.

    Put it beside the default on such views:
    `throttle_classes = [TokenRateThrottle, GenerationRateThrottle]`.
    """

    scope = "generation"
