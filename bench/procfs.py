"""What /proc says about a process tree: its members, CPU time used, proportional memory (PSS)."""

import os
import time
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def session_pids(leader):
    """Every live process in the session `leader` started (it was spawned with start_new_session)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(entry.name)
            if fields is not None and int(fields[3]) == leader:  # field 6 of stat: the session id
                pids.append(int(entry.name))
    return sorted(pids)


def cpu_seconds(pids):
    """User + system CPU time the processes used so far, in seconds."""
    total = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def cpu_seconds_exact(pids):
    """User + system CPU time of the processes' live threads, from the scheduler's nanosecond
    counters (/proc/PID/task/TID/schedstat), where /proc/PID/stat counts whole 10 ms ticks. A
    thread that ended between two readings takes its time with it: compare across readings
    only while `thread_ids(pids)` stays the same."""
    total = 0
    for pid in pids:
        for task in _tasks(pid):
            try:
                total += int((task / "schedstat").read_text().split()[0])
            except (FileNotFoundError, ProcessLookupError):
                pass
    return total / 1e9


def idle_percent(groups, seconds, exact=False):
    """{group: its CPU over `seconds` with nothing to do, as % of one core}, for groups of pids, after a
    few seconds for the last call's aftermath (a task's acknowledgement and the like). `exact`: the
    scheduler's nanoseconds (`cpu_seconds_exact`), else whole ticks."""
    used = cpu_seconds_exact if exact else cpu_seconds
    time.sleep(3)
    before = {group: used(pids) for group, pids in groups.items()}
    time.sleep(seconds)
    return {group: 100 * (used(pids) - before[group]) / seconds for group, pids in groups.items()}


def thread_ids(pids):
    """The ids of the processes' live threads."""
    return {int(task.name) for pid in pids for task in _tasks(pid)}


def _tasks(pid):
    try:
        return list(Path(f"/proc/{pid}/task").iterdir())
    except (FileNotFoundError, ProcessLookupError):
        return []


def pss_megabytes(pids):
    """Proportional set size, summed: shared pages count once across the processes sharing them."""
    total_kb = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total_kb += int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total_kb / 1024


def _stat_fields(pid):
    """The fields of /proc/PID/stat after the command name (which may hold spaces): state is [0]."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return raw.rsplit(")", 1)[1].split()
