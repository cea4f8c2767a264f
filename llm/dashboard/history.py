"""How the box has been doing: the figures of the dashboard's history charts (per token: usage.py).

Plain functions over querysets. Every figure is computed by the database from our
own tables, over a window of the last hour, day or week cut into buckets:

- requests, failures, cancels and tokens per second per model, from the requests
  that *finished* in each bucket (`finished_at`, indexed by migration 0003);
- the wait (queued until started) at p50 and p95 (nearest rank, to a tenth of a
  second) of the requests that finished in each bucket and had started;
- model loads from the audit log's `model.load` rows (llm/metrics.py writes them),
  against the loads first-come-first-served would have made on the same arrivals:
  the requests that ran, in the order they arrived, starting from the model loaded
  when the window began, with a load whenever the model changes.

Buckets are aligned on the clock (UTC), so a figure does not move between two
refreshes unless a request finished. A bucket's figures are settled once it is
over and every request that arrived before its end has finished: `history()`
keeps those in Django's cache and reads only the newer buckets again, so a
refresh costs one bucket's rows, not the week's (bench/history_scale.py).
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone as dt_timezone

from django.core.cache import cache
from django.db.models import Count, FloatField, Func, Sum, Value
from django.utils import timezone

from llm import audit
from llm.models import AuditEntry, GenerationRequest

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


def seconds_between(earlier: str, later: str):
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


def finished_in(win: Period, queryset=None):
    queryset = GenerationRequest.objects.all() if queryset is None else queryset
    return queryset.filter(finished_at__gte=win.start, finished_at__lt=win.end, status__in=FINAL)


# --- the charts' figures ----------------------------------------------------------


def requests_by_model(win: Period) -> dict:
    """Per model and bucket: requests finished, failed and cancelled, tokens out, seconds generating.

    {model: {"requests": [...], "failed": [...], "cancelled": [...], "tokens_per_second": [...]}}
    """
    rows = (
        finished_in(win)
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


def percentiles(queryset, key, seconds, fractions=(0.5, 0.95)) -> dict:
    """Nearest-rank percentiles of `seconds` per `key` (expressions), to a tenth of a second.

    {key: {fraction: seconds}}: the value of rank ceil(fraction * n) among the n of its key.
    The database counts the rows per key and tenth of a second (one pass, no sort
    of the rows themselves); the ranks are found here, in the few counts.
    """
    counts = (
        queryset.order_by()
        .annotate(key=key, tenths=_Truncate(seconds * Value(10.0) + Value(0.5)))
        .values("key", "tenths")
        .annotate(n=Count("pk"))
    )
    histograms: dict = {}
    for row in counts:
        histograms.setdefault(row["key"], []).append((int(row["tenths"]), row["n"]))
    return {key: _ranks(sorted(histogram), fractions) for key, histogram in histograms.items()}


def _ranks(histogram, fractions):
    total = sum(n for _, n in histogram)
    wanted = {fraction: math.ceil(round(fraction * total, 9)) for fraction in fractions}
    found, seen = {}, 0
    for tenths, n in histogram:
        seen += n
        for fraction, rank in wanted.items():
            if fraction not in found and seen >= rank:
                found[fraction] = tenths / 10
    return found


def waits(win: Period) -> dict:
    """Seconds from queued to started, p50 and p95 per bucket (None where nothing ran)."""
    started = finished_in(win).filter(started_at__isnull=False)
    found = percentiles(started, _bucket("finished_at", win), seconds_between("created_at", "started_at"))
    p50, p95 = [None] * win.count, [None] * win.count
    for bucket, values in found.items():
        p50[int(bucket)], p95[int(bucket)] = round(values[0.5], 3), round(values[0.95], 3)
    return {"p50": p50, "p95": p95}


def loads(win: Period) -> dict:
    """Model loads per bucket as recorded, and as first-come-first-served would have made them.

    {"actual": [...], "fcfs": [...], "saved": fcfs total - actual total}
    """
    actual = recorded_loads(win)
    fcfs = fcfs_loads(arrival_runs(win), loaded_at(win.start))
    return {"actual": actual, "fcfs": fcfs, "saved": sum(fcfs) - sum(actual)}


def recorded_loads(win: Period) -> list[int]:
    actual = [0] * win.count
    entries = AuditEntry.objects.filter(
        action=audit.Action.MODEL_LOAD, created_at__gte=win.start, created_at__lt=win.end
    )
    for moment in entries.values_list("created_at", flat=True):
        actual[win.bucket_of(moment)] += 1
    return actual


def loaded_at(moment: datetime) -> str | None:
    """The model the gateway had loaded last before `moment` (audit log), or None."""
    before = AuditEntry.objects.filter(action=audit.Action.MODEL_LOAD, created_at__lt=moment)
    return before.order_by("-created_at", "-pk").values_list("target", flat=True).first()


def arrival_runs(win: Period) -> list:
    """Per bucket, the arrivals of the requests that ran, in order, as (first model, last model, changes
    between consecutive arrivals), or None for a bucket without any: enough to replay FCFS over buckets."""
    arrivals = (
        GenerationRequest.objects.filter(
            status__in=FINAL, created_at__gte=win.start, created_at__lt=win.end, started_at__isnull=False
        )
        .annotate(bucket=_bucket("created_at", win))
        .order_by("created_at", "pk")
        .values_list("model", "bucket")
    )
    runs = [None] * win.count
    for model, bucket in arrivals.iterator(chunk_size=10_000):
        b = int(bucket)
        if runs[b] is None:
            runs[b] = (model, model, 0)
        else:
            first, last, changes = runs[b]
            runs[b] = (first, model, changes + (model != last))
    return runs


def fcfs_loads(runs: list, loaded: str | None) -> list[int]:
    """FCFS's loads per bucket: a load whenever the next arrival's model is not the one loaded."""
    counts = []
    for run in runs:
        if run is None:
            counts.append(0)
            continue
        first, last, changes = run
        counts.append(changes + (first != loaded))
        loaded = last
    return counts


def history(name: str, now: datetime | None = None) -> dict:
    """Everything the history charts show for the range `name`.

    A bucket's figures never change once it is over and every request that
    arrived before its end has finished, so those are kept in the cache and
    only the newer buckets are read again (the dashboard refreshes every 30 s).
    """
    now = now or timezone.now()
    win = window(name, now)
    settled = _settled_until(now)
    buckets = [_cached(win, n) if _is_settled(win, n, settled) else None for n in range(win.count)]
    first = next((n for n, figures in enumerate(buckets) if figures is None), win.count)
    if first < win.count:
        rest = Period(name, win.start + win.step * first, win.step, win.count - first)
        for n, figures in enumerate(_bucket_figures(rest), start=first):
            buckets[n] = figures
            if _is_settled(win, n, settled):
                cache.set(_cache_key(win, n), figures, CACHE_SECONDS)
    return {"window": win, **_assembled(buckets, loaded_at(win.start))}


CACHE_SECONDS = 8 * 24 * 3600  # longer than the longest range
SETTLE_SECONDS = 60  # a request that finished just before a bucket's end may commit just after it


def _settled_until(now):
    """Buckets that ended before this moment are settled: their figures will not change."""
    unfinished = GenerationRequest.objects.unfinished().order_by("created_at")
    oldest = unfinished.values_list("created_at", flat=True).first()
    settled = now - timedelta(seconds=SETTLE_SECONDS)
    return min(settled, oldest) if oldest else settled


def _is_settled(win, n, settled):
    return win.start + win.step * (n + 1) <= settled


def _cache_key(win, n):
    start = win.start + win.step * n
    return f"llm:history:{int(win.step.total_seconds())}:{int((start - EPOCH).total_seconds())}"


def _cached(win, n):
    return cache.get(_cache_key(win, n))


def _bucket_figures(win: Period) -> list[dict]:
    """The figures of each bucket of `win`, one dict a bucket."""
    by_model, waited = requests_by_model(win), waits(win)
    actual, runs = recorded_loads(win), arrival_runs(win)
    return [
        {
            "by_model": {
                model: {key: values[n] for key, values in series.items()}
                for model, series in by_model.items()
                if series["requests"][n]
            },
            "p50": waited["p50"][n],
            "p95": waited["p95"][n],
            "loads": actual[n],
            "arrivals": runs[n],
        }
        for n in range(win.count)
    ]


def _assembled(buckets, loaded):
    models = sorted({model for figures in buckets for model in figures["by_model"]})
    by_model = {}
    for model in models:
        series = {key: [] for key in ("requests", "failed", "cancelled", "tokens_per_second")}
        for figures in buckets:
            cell = figures["by_model"].get(model)
            for key in series:
                series[key].append(cell[key] if cell else (None if key == "tokens_per_second" else 0))
        by_model[model] = series
    actual = [figures["loads"] for figures in buckets]
    fcfs = fcfs_loads([figures["arrivals"] for figures in buckets], loaded)
    return {
        "by_model": by_model,
        "waits": {"p50": [figures["p50"] for figures in buckets], "p95": [figures["p95"] for figures in buckets]},
        "loads": {"actual": actual, "fcfs": fcfs, "saved": sum(fcfs) - sum(actual)},
    }
