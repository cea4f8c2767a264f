"""What each token asked for in a range of the dashboard's history: the usage page (llm/dashboard/views.py).

Figures over the requests that finished in the range, as the history charts count them
(llm/dashboard/history.py), and each token's refusals by the rate limits.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, Q, Sum

from llm.dashboard.history import Status, finished_in, percentiles, seconds_between, window
from llm.models import ApiToken


@dataclass
class TokenUsage:
    token: ApiToken
    requests: int = 0
    failed: int = 0
    cancelled: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    wait_p50: float | None = None
    wait_p95: float | None = None

    @property
    def name(self) -> str:
        return self.token.name

    @property
    def last_used(self):
        return self.token.last_used_at

    @property
    def refusals(self) -> int:
        return self.token.rate_limited_count


USAGE_SORTS = ("name", "requests", "tokens_in", "tokens_out", "wait_p50", "wait_p95", "last_used", "refusals")


def token_usage(name: str, sort: str = "requests", descending: bool = True, now: datetime | None = None) -> list:
    """A `TokenUsage` per token: what it asked for in the range `name` (requests finished), and its refusals.

    Tokens with no request in the range are listed too, with zeros.
    """
    win = window(name, now)
    finished = finished_in(win).filter(token__isnull=False)
    sums = finished.values("token").annotate(
        requests=Count("pk"),
        tokens_in=Sum("prompt_eval_count"),
        tokens_out=Sum("eval_count"),
        failed=Count("pk", filter=Q(status=Status.FAILED)),
        cancelled=Count("pk", filter=Q(status=Status.CANCELLED)),
    ).order_by()
    sums = {row.pop("token"): row for row in sums}
    waited = percentiles(
        finished.filter(started_at__isnull=False), F("token_id"), seconds_between("created_at", "started_at")
    )
    rows = []
    for token in ApiToken.objects.all():
        row = sums.get(token.pk, {})
        waits = waited.get(token.pk, {})
        rows.append(TokenUsage(
            token,
            requests=row.get("requests", 0),
            failed=row.get("failed", 0),
            cancelled=row.get("cancelled", 0),
            tokens_in=row.get("tokens_in") or 0,
            tokens_out=row.get("tokens_out") or 0,
            wait_p50=_rounded(waits.get(0.5)),
            wait_p95=_rounded(waits.get(0.95)),
        ))
    key = sort if sort in USAGE_SORTS else "requests"

    def order(usage):
        value = getattr(usage, key)
        if isinstance(value, str):
            value = value.lower()
        return (value is not None, value if value is not None else 0, usage.name.lower())

    return sorted(rows, key=order, reverse=descending)


def _rounded(seconds):
    return None if seconds is None else round(seconds, 3)
