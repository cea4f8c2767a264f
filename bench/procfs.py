"""What /proc says about a process tree: its members, CPU time used, proportional memory (PSS)."""

import os
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
