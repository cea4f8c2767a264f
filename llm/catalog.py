"""The models clients may ask for, and how their names map to Ollama's tags.

Clients use catalog names (`phi4:mini`); Ollama knows tags (`phi4-mini`, which
it reports as `phi4-mini:latest`). Everything the API says uses catalog names.
"""

from dataclasses import dataclass

from django.conf import settings

DEFAULT_CATALOG = {
    "llama3.2:3b": {"tag": "llama3.2:3b", "description": "General Purpose / Balanced"},
    "phi4:mini": {"tag": "phi4-mini", "description": "Logic & Reasoning / 3.8B"},
    "qwen3:4b": {"tag": "qwen3:4b", "description": "Coding & Multilingual"},
    "gemma3:4b": {"tag": "gemma3:4b", "description": "Advanced Reasoning"},
    "llama3.2:1b": {"tag": "llama3.2:1b", "description": "Ultra-light / Summarization"},
    "qwen2.5-coder:3b": {"tag": "qwen2.5-coder:3b", "description": "Specialized Programming"},
}


class UnknownModel(LookupError):
    pass


def normalize_tag(tag):
    """Ollama's canonical spelling: a tag without a version means `:latest`."""
    return tag if ":" in tag.rsplit("/", 1)[-1] else f"{tag}:latest"


@dataclass(frozen=True)
class Entry:
    name: str
    tag: str
    description: str


def entries():
    raw = settings.LLM_CATALOG or DEFAULT_CATALOG
    return [
        Entry(name, spec.get("tag", name), spec.get("description", ""))
        for name, spec in raw.items()
    ]


def names():
    return [entry.name for entry in entries()]


def get(name):
    for entry in entries():
        if entry.name == name:
            return entry
    raise UnknownModel(name)


def resolve(name):
    """The entry a client means by `name`: a catalog name, or the Ollama tag behind one."""
    wanted = normalize_tag(name)
    for entry in entries():
        if name == entry.name or wanted in (normalize_tag(entry.name), normalize_tag(entry.tag)):
            return entry
    raise UnknownModel(name)


def name_for_tag(tag):
    """The catalog name for an Ollama tag, or the tag itself outside the catalog."""
    wanted = normalize_tag(tag)
    for entry in entries():
        if normalize_tag(entry.tag) == wanted:
            return entry.name
    return tag


def validate(raw):
    """Problems with a catalog setting, as sentences (for the system check)."""
    if not isinstance(raw, dict) or not raw:
        return ["LLM_CATALOG must be a non-empty JSON object of model names"]
    problems = []
    for name, spec in raw.items():
        if not isinstance(spec, dict):
            problems.append(f"LLM_CATALOG[{name!r}] must be an object with 'tag' and 'description'")
        elif not isinstance(spec.get("tag", name), str) or not isinstance(spec.get("description", ""), str):
            problems.append(f"LLM_CATALOG[{name!r}]: 'tag' and 'description' must be strings")
    return problems
