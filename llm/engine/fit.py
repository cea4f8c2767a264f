"""Fit before load: will a model fit in memory (or a pull on disk) before we try?

Ollama on a small box does not refuse a model that is too big: it thrashes, or
the OOM killer ends it. So before loading we compare the model's size with the
memory the box will have once the resident model is gone, less a headroom, and
refuse with both numbers when it cannot fit.
"""

import shutil
from urllib.parse import urlsplit

from django.conf import settings

from llm import catalog
from llm.engine.ollama import OllamaError

MIB = 1024 * 1024


class DoesNotFit(OllamaError):
    """The model (or download) is larger than what the box has free."""


def available_memory():
    """MemAvailable from /proc/meminfo (LLM_MEMINFO_PATH), in bytes; None if unknown."""
    try:
        with open(settings.LLM_MEMINFO_PATH) as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def is_local(url):
    """A node on this box: its memory is ours to read (LLM_MEMINFO_PATH); a remote one's is unknown."""
    return urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1")


def memory_after_unloading(resident, local=True):
    """What would be free once the `resident` models (Ollama's /api/ps entries) are unloaded
    (None when unknown: a node on another box)."""
    free = available_memory() if local else None
    if free is None:
        return None
    return free + sum(model.get("size") or 0 for model in resident) - settings.LLM_MEMORY_HEADROOM_MB * MIB


def check_memory(tag, installed, resident, local=True):
    """Raise DoesNotFit when `tag` cannot fit. `installed`: Ollama's /api/tags entries."""
    size = _size_of(tag, installed)
    room = memory_after_unloading(resident, local)
    if size is None or room is None or size <= room:
        return
    name = catalog.name_for_tag(tag)
    raise DoesNotFit(
        f"Model {name} needs {_mib(size)} of memory but only {_mib(max(room, 0))} would be free "
        f"(MemAvailable plus the loaded model, less LLM_MEMORY_HEADROOM_MB={settings.LLM_MEMORY_HEADROOM_MB})"
    )


def check_disk(name, needed):
    """Raise DoesNotFit when a download of `needed` bytes cannot fit in LLM_MODELS_DIR."""
    if not settings.LLM_MODELS_DIR or not needed:
        return
    free = shutil.disk_usage(settings.LLM_MODELS_DIR).free
    if needed > free:
        raise DoesNotFit(f"Pulling {name} needs {_mib(needed)} of disk but {settings.LLM_MODELS_DIR} has {_mib(free)} free")


def catalog_fit(installed, resident, local=True):
    """{catalog name: True/False/None (not installed, or memory unknown)} for /status and /models.

    `installed` and `resident` are Ollama's /api/tags and /api/ps lists."""
    room = memory_after_unloading(resident, local)
    fits = {}
    for entry in catalog.entries():
        size = _size_of(entry.tag, installed)
        fits[entry.name] = None if size is None or room is None else size <= room
    return fits


def _size_of(tag, installed):
    wanted = catalog.normalize_tag(tag)
    for model in installed:
        if catalog.normalize_tag(model.get("model") or model["name"]) == wanted:
            return model.get("size")
    return None


def _mib(size):
    return f"{size / MIB:,.0f} MiB"
