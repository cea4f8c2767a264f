"""The history charts, drawn on the server as SVG: no script, no library, nothing from outside.

`history_panel(range_name)` turns the figures of llm/dashboard/history.py into
what templates/llm/_history.html draws. The SVG holds only the marks and
stretches to the width it gets; the numbers around it (scale, times, legend)
are HTML text, so they stay legible at phone width.
"""

import math
from datetime import timedelta

from django.utils import timezone

from llm.dashboard import history

WIDTH, HEIGHT = 600, 150
PALETTE = ["#0969da", "#bf3989", "#1a7f37", "#9a6700", "#8250df", "#cf222e", "#57606a", "#0a7c86"]
P50, P95, ACTUAL, FCFS, FAILED, CANCELLED = "#0969da", "#cf222e", "#0969da", "#9a6700", "#cf222e", "#9a6700"
RANGE_LABELS = {"hour": "Last hour", "day": "Last day", "week": "Last week"}


def history_panel(range_name: str, now=None) -> dict:
    figures = history.history(range_name, now)
    period = figures["window"]
    times = [timezone.localtime(edge) for edge in period.edges()]
    labels = [_time_label(moment, period.step) for moment in times]
    by_model = figures["by_model"]
    colours = {model: PALETTE[n % len(PALETTE)] for n, model in enumerate(by_model)}
    waits, loads = figures["waits"], figures["loads"]
    failed = [sum(column) for column in zip(*(s["failed"] for s in by_model.values()))] or [0] * period.count
    cancelled = [sum(column) for column in zip(*(s["cancelled"] for s in by_model.values()))] or [0] * period.count
    return {
        "range": range_name,
        "ranges": [(name, RANGE_LABELS[name]) for name in history.RANGES],
        "step": _step_label(period.step),
        "axis": [labels[0], labels[len(labels) // 2], labels[-1]],
        "totals": {
            "requests": sum(sum(s["requests"]) for s in by_model.values()),
            "failed": sum(failed),
            "cancelled": sum(cancelled),
            "loads": sum(loads["actual"]),
            "fcfs_loads": sum(loads["fcfs"]),
            "saved": loads["saved"],
        },
        "requests": bars([(m, s["requests"], colours[m]) for m, s in by_model.items()], labels, unit=""),
        "waits": lines([("p50", waits["p50"], P50), ("p95", waits["p95"], P95)], labels, unit=" s"),
        "loads": lines(
            [("loads made", loads["actual"], ACTUAL), ("FCFS would make", loads["fcfs"], FCFS)], labels, unit=""
        ),
        "speed": lines([(m, s["tokens_per_second"], colours[m]) for m, s in by_model.items()], labels, unit=" tok/s"),
        "failures": bars([("failed", failed, FAILED), ("cancelled", cancelled, CANCELLED)], labels, unit=""),
    }


def bars(series, labels, unit) -> dict:
    """Stacked bars, one per bucket: series is [(name, values, colour)]."""
    count = len(labels)
    totals = [sum(values[n] or 0 for _, values, _ in series) for n in range(count)]
    top = nice_ceiling(max(totals, default=0))
    slot = WIDTH / count
    marks = []
    for n in range(count):
        base = HEIGHT
        for name, values, colour in series:
            value = values[n] or 0
            if not value:
                continue
            height = HEIGHT * value / top
            base -= height
            marks.append({
                "x": _f(n * slot + slot * 0.12), "y": _f(base), "w": _f(slot * 0.76), "h": _f(height),
                "colour": colour, "title": f"{labels[n]} {name}: {_number(value)}{unit}",
            })
    return _chart(series, top, unit, bars=marks, empty=not any(totals))


def lines(series, labels, unit) -> dict:
    """One line per series, broken where a bucket has no value (None)."""
    count = len(labels)
    values = [value for _, row, _ in series for value in row if value is not None]
    top = nice_ceiling(max(values, default=0))
    slot = WIDTH / count
    paths = []
    for name, row, colour in series:
        for run in _runs(row):
            points = [(n * slot + slot / 2, HEIGHT - HEIGHT * row[n] / top) for n in run]
            if len(points) == 1:  # a lone value: a short dash, so that it shows
                (x, y), half = points[0], slot * 0.3
                points = [(x - half, y), (x + half, y)]
            titles = [f"{labels[n]} {name}: {_number(row[n])}{unit}" for n in run]
            paths.append({
                "points": " ".join(f"{_f(x)},{_f(y)}" for x, y in points), "colour": colour, "title": "; ".join(titles),
            })
    return _chart(series, top, unit, lines=paths, empty=not any(values))


def nice_ceiling(value) -> float:
    """The scale's top: 1, 2 or 5 times a power of ten, at least `value` (1 for nothing)."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(factor * power for factor in (1, 2, 5, 10) if factor * power >= value)


def _chart(series, top, unit, bars=(), lines=(), empty=False):
    return {
        "width": WIDTH, "height": HEIGHT, "top": f"{_number(top)}{unit}", "mid": f"{_number(top / 2)}{unit}",
        "bars": list(bars), "lines": list(lines), "empty": empty,
        "legend": [(name, colour) for name, _, colour in series],
    }


def _runs(row):
    run = []
    for n, value in enumerate(row):
        if value is None:
            if run:
                yield run
            run = []
        else:
            run.append(n)
    if run:
        yield run


def _time_label(moment, step):
    if step >= timedelta(hours=6):
        return moment.strftime("%a %H:%M")
    return moment.strftime("%H:%M")


def _step_label(step):
    minutes = int(step.total_seconds() // 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h"


def _number(value):
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.1f}" if value < 100 else f"{value:.0f}"
    return f"{int(value)}"


def _f(number):
    return f"{number:.1f}"
