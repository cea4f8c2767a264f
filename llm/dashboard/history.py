"""How the box has been doing: the figures of the dashboard's history charts and token usage.

Plain functions over querysets. Every figure is computed by the database from our
own tables, over a window of the last hour, day or week cut into buckets:

- requests, failures, cancels and tokens per second per model, from the requests
  that *finished* in each bucket (`finished_at`, indexed by migration 0003);
- the wait (queued until started) at p50 and p95 (nearest rank) of the requests
  that finished in each bucket and had started;
- model loads from the audit log's `model.load` rows (llm/metrics.py writes them),
  against the loads first-come-first-served would have made on the same arrivals:
  the requests that ran, in the order they arrived, starting from the model loaded
  when the window began, with a load whenever the model changes.

Buckets are aligned on the clock (UTC), so a figure does not move between two
refreshes unless a request finished.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone as dt_timezone

from django.db.models import Count, F, FloatField, Func, Q, Sum, Value
from django.db.models import Window as Over
from django.db.models.functions import RowNumber
from django.utils import timezone

from llm import audit
from llm.models import ApiToken, AuditEntry, GenerationRequest

Status = GenerationRequest.Status
FINAL = (Status.DONE, Status.FAILED, Status.CANCELLED)


@dataclass(frozen=True)
class Period:
    """The last `count` buckets of `step`, the newest ending after now."""

    name: str
    start: datetime
    step: timedelta
    count: int

    @property
    def end(self) -> datetime:
        return self.start + self.step * self.count

    def edges(self) -> list[datetime]:
        return [self.start + self.step * n for n in range(self.count)]

    def bucket_of(self, moment: datetime) -> int:
        return int((moment - self.start) / self.step)


RANGES = {
    "hour": (timedelta(minutes=5), 12),
    "day": (timedelta(hours=1), 24),
    "week": (timedelta(hours=6), 28),
}
DEFAULT_RANGE = "day"
EPOCH = datetime(1970, 1, 1, tzinfo=dt_timezone.utc)


def window(name: str, now: datetime | None = None) -> Period:
    """The window called `name` ('hour', 'day', 'week') as of `now`; KeyError for another name."""
    step, count = RANGES[name]
    now = now or timezone.now()
    current = EPOCH + step * ((now - EPOCH) // step)
    return Period(name, current - step * (count - 1), step, count)


# --- SQL: seconds since the epoch, and the bucket of a moment, on SQLite and PostgreSQL ---


class EpochSeconds(Func):
    """A datetime column as seconds since 1970 (a float, microseconds kept)."""

    output_field = FloatField()

    def as_sqlite(self, compiler, connection, **extra):
        # Django stores datetimes as UTC text, which julianday() reads.
        return self.as_sql(compiler, connection, template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)")

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="EXTRACT(EPOCH FROM %(expressions)s)::double precision")


def _seconds_between(earlier: str, later: str):
    return EpochSeconds(later) - EpochSeconds(earlier)


class _Truncate(Func):
    """The integer part of a non-negative number."""

    output_field = FloatField()

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="CAST(%(expressions)s AS INTEGER)")

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="FLOOR(%(expressions)s)")


def _bucket(column: str, win: Period):
    # Half a millisecond more: a moment on a bucket's edge, which SQLite's floats
    # may see a few microseconds early, falls in the bucket it starts, as in Python.
    start = (win.start - EPOCH).total_seconds() - 0.0005
    return _Truncate((EpochSeconds(column) - Value(start)) / Value(win.step.total_seconds()))


def _finished_in(win: Period, queryset=None):
    queryset = GenerationRequest.objects.all() if queryset is None else queryset
    return queryset.filter(finished_at__gte=win.start, finished_at__lt=win.end, status__in=FINAL)


# --- the charts' figures ----------------------------------------------------------


def requests_by_model(win: Period) -> dict:
    """Per model and bucket: requests finished, failed and cancelled, tokens out, seconds generating.

    {model: {"requests": [...], "failed": [...], "cancelled": [...], "tokens_per_second": [...]}}
    """
    rows = (
        _finished_in(win)
        .annotate(bucket=_bucket("finished_at", win))
        .values("bucket", "model", "status")
        .annotate(n=Count("pk"), tokens=Sum("eval_count"), nanoseconds=Sum("eval_duration"))
        .order_by()
    )
    sums: dict = {}
    for row in rows:
        series = sums.setdefault(row["model"], _empty_model_series(win.count))
        b = int(row["bucket"])
        series["requests"][b] += row["n"]
        if row["status"] == Status.FAILED:
            series["failed"][b] += row["n"]
        elif row["status"] == Status.CANCELLED:
            series["cancelled"][b] += row["n"]
        elif row["tokens"] and row["nanoseconds"]:
            series["_tokens"][b] += row["tokens"]
            series["_nanoseconds"][b] += row["nanoseconds"]
    for series in sums.values():
        tokens, nanoseconds = series.pop("_tokens"), series.pop("_nanoseconds")
        series["tokens_per_second"] = [
            round(t / (ns / 1e9), 2) if ns else None for t, ns in zip(tokens, nanoseconds)
        ]
    return dict(sorted(sums.items()))


def _empty_model_series(count):
    return {key: [0] * count for key in ("requests", "failed", "cancelled", "_tokens", "_nanoseconds")}


def percentiles(queryset, key, value, fractions=(0.5, 0.95)) -> dict:
    """Nearest-rank percentiles of `value` per `key` (expressions), computed by the database.

    {key: {fraction: value}}: the value of rank ceil(fraction * n) among the n of its key.
    """
    ranked = queryset.annotate(
        key=key,
        value=value,
        rank=Over(RowNumber(), partition_by=[key], order_by=[value.asc(), F("pk").asc()]),
        n=Over(Count("pk"), partition_by=[key]),
    )
    wanted = Q()
    for fraction in fractions:
        # rank == ceil(fraction * n), in arithmetic both databases share
        wanted |= Q(rank__gte=F("n") * fraction, rank__lt=F("n") * fraction + 1)
    found: dict = {}
    for row in ranked.filter(wanted).values("key", "value", "rank", "n"):
        for fraction in fractions:
            if fraction * row["n"] <= row["rank"] < fraction * row["n"] + 1:
                found.setdefault(row["key"], {})[fraction] = row["value"]
    return found


def waits(win: Period) -> dict:
    """Seconds from queued to started, p50 and p95 per bucket (None where nothing ran)."""
    started = _finished_in(win).filter(started_at__isnull=False)
    found = percentiles(started, _bucket("finished_at", win), _seconds_between("created_at", "started_at"))
    p50, p95 = [None] * win.count, [None] * win.count
    for bucket, values in found.items():
        p50[int(bucket)], p95[int(bucket)] = round(values[0.5], 3), round(values[0.95], 3)
    return {"p50": p50, "p95": p95}


def loads(win: Period) -> dict:
    """Model loads per bucket as recorded, and as first-come-first-served would have made them.

    {"actual": [...], "fcfs": [...], "saved": fcfs total - actual total}
    """
    actual = [0] * win.count
    entries = AuditEntry.objects.filter(
        action=audit.Action.MODEL_LOAD, created_at__gte=win.start, created_at__lt=win.end
    )
    for moment in entries.values_list("created_at", flat=True):
        actual[win.bucket_of(moment)] += 1
    fcfs = fcfs_loads(win)
    return {"actual": actual, "fcfs": fcfs, "saved": sum(fcfs) - sum(actual)}


def fcfs_loads(win: Period) -> list[int]:
    """Loads first-come-first-served would make: replay the arrivals of the requests that ran, by bucket."""
    before = AuditEntry.objects.filter(action=audit.Action.MODEL_LOAD, created_at__lt=win.start)
    loaded = before.order_by("-created_at", "-pk").values_list("target", flat=True).first()
    arrivals = (
        GenerationRequest.objects.filter(
            status__in=FINAL, created_at__gte=win.start, created_at__lt=win.end, started_at__isnull=False
        )
        .annotate(bucket=_bucket("created_at", win))
        .order_by("created_at", "pk")
        .values_list("model", "bucket")
    )
    counts = [0] * win.count
    for model, bucket in arrivals.iterator(chunk_size=10_000):
        if model != loaded:
            counts[int(bucket)] += 1
            loaded = model
    return counts


def history(name: str, now: datetime | None = None) -> dict:
    """Everything the history charts show for the range `name`."""
    win = window(name, now)
    return {
        "window": win,
        "by_model": requests_by_model(win),
        "waits": waits(win),
        "loads": loads(win),
    }


# --- usage per token ------------------------------------------------------------------

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
    finished = _finished_in(win).filter(token__isnull=False)
    sums = finished.values("token").annotate(
        requests=Count("pk"),
        tokens_in=Sum("prompt_eval_count"),
        tokens_out=Sum("eval_count"),
        failed=Count("pk", filter=Q(status=Status.FAILED)),
        cancelled=Count("pk", filter=Q(status=Status.CANCELLED)),
    ).order_by()
    sums = {row.pop("token"): row for row in sums}
    waited = percentiles(
        finished.filter(started_at__isnull=False), F("token_id"), _seconds_between("created_at", "started_at")
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
