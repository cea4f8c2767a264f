"""Shared by the benchmarks: percentiles, and writing one section of docs/benchmarks.md."""

import statistics
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
TITLE = "# Benchmarks\n\nFigures from `bench/`, on the 2-core machine the project is built on.\n"


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def milliseconds(values):
    return {"p50": 1000 * statistics.median(values), "p99": 1000 * percentile(values, 0.99)}


def write_section(name, text):
    """Replace the text between this section's markers, leaving the other sections alone."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    DOC.parent.mkdir(exist_ok=True)
    current = DOC.read_text() if DOC.exists() else TITLE
    block = f"{start}\n{text.strip()}\n{end}"
    if start in current and end in current:
        before, rest = current.split(start, 1)
        current = before + block + rest.split(end, 1)[1]
    else:
        current = current.rstrip("\n") + "\n\n" + block + "\n"
    DOC.write_text(current)


def publish(name, text, write=True):
    """Print a benchmark's figures and, unless told not to, put them in their section of docs/benchmarks.md."""
    print(text)
    if write:
        write_section(name, text)
        print(f"\nWritten to {DOC.relative_to(DOC.parents[1])}")
