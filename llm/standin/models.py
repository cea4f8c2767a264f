"""Model registry of the Ollama stand-in: names, sizes, digests, details.

Everything here is plain data and pure functions; the mutable state lives in
``state.py``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

GIB = 1024**3
MIB = 1024**2
KIB = 1024

# name: (size in bytes, parameter_size, family)
DEFAULT_REGISTRY: dict[str, tuple[int, str, str]] = {
    "llama3.2:1b": (1_321_098_329, "1.2B", "llama"),
    "llama3.2:3b": (2_019_393_189, "3.2B", "llama"),
    "phi4-mini:latest": (2_491_876_774, "3.8B", "phi3"),
    "qwen2.5-coder:3b": (1_929_912_432, "3.1B", "qwen2"),
    "qwen3:4b": (2_497_293_918, "4.0B", "qwen3"),
    "gemma3:4b": (3_338_801_804, "4.3B", "gemma3"),
}

_DEFAULT_HOST_PREFIXES = ("registry.ollama.ai/library/", "registry.ollama.ai/")


def normalize_name(name: str) -> str:
    """Ollama's name rules: default tag ``latest``, default registry/namespace
    dropped, case-insensitive.  "phi4-mini" -> "phi4-mini:latest"."""
    n = (name or "").strip().lower()
    for prefix in _DEFAULT_HOST_PREFIXES:
        if n.startswith(prefix):
            n = n[len(prefix):]
            break
    if n.startswith("library/"):
        n = n[len("library/"):]
    last = n.rsplit("/", 1)[-1]
    if ":" not in last:
        n += ":latest"
    return n


def human_bytes(b: int) -> str:
    """Same rounding as Ollama's format.HumanBytes2 (used in its memory error)."""
    b = max(int(b), 0)
    if b >= GIB:
        return f"{b / GIB:.1f} GiB"
    if b >= MIB:
        return f"{b / MIB:.1f} MiB"
    if b >= KIB:
        return f"{b / KIB:.1f} KiB"
    return f"{b} B"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _family_from_name(name: str) -> str:
    base = name.split(":", 1)[0].rsplit("/", 1)[-1]
    m = re.match(r"[a-z]+\d*", base)
    return m.group(0) if m else "llama"


def _param_size_from_bytes(size: int) -> str:
    # ~4.8 bits per weight (Q4_K_M) -> parameters
    return f"{size * 8 / 4.8 / 1e9:.1f}B"


@dataclass
class ModelSpec:
    """One pullable model."""

    name: str  # normalised "model:tag"
    size: int
    parameter_size: str
    family: str
    quantization_level: str = "Q4_K_M"
    digest: str = ""
    layers: list[tuple[str, str, int]] = field(default_factory=list)  # (mediatype, digest, size)

    def __post_init__(self) -> None:
        if not self.digest:
            self.digest = _sha("manifest:" + self.name)
        if not self.layers:
            template = 1_400 + len(self.name)
            license_ = 6_000 + len(self.family) * 100
            params = 96
            model = max(self.size - template - license_ - params, 1)
            self.layers = [
                ("application/vnd.ollama.image.model", "sha256:" + _sha("model:" + self.name), model),
                ("application/vnd.ollama.image.template", "sha256:" + _sha("template:" + self.name), template),
                ("application/vnd.ollama.image.license", "sha256:" + _sha("license:" + self.family), license_),
            ]

    def details(self) -> dict:
        return {
            "parent_model": "",
            "format": "gguf",
            "family": self.family,
            "families": [self.family],
            "parameter_size": self.parameter_size,
            "quantization_level": self.quantization_level,
        }

    def parameter_count(self) -> int:
        try:
            return int(float(self.parameter_size.rstrip("Bb")) * 1e9)
        except ValueError:
            return 0


def spec_from(name: str, value) -> ModelSpec:
    """Build a spec from ``size`` or ``{"size", "parameter_size", "family",
    "quantization_level"}``."""
    key = normalize_name(name)
    if isinstance(value, dict):
        size = int(value.get("size", 2 * GIB))
        return ModelSpec(
            name=key,
            size=size,
            parameter_size=str(value.get("parameter_size") or _param_size_from_bytes(size)),
            family=str(value.get("family") or _family_from_name(key)),
            quantization_level=str(value.get("quantization_level") or "Q4_K_M"),
        )
    size = int(value)
    return ModelSpec(key, size, _param_size_from_bytes(size), _family_from_name(key))


def default_registry() -> dict[str, ModelSpec]:
    return {
        name: ModelSpec(name, size, psize, family)
        for name, (size, psize, family) in DEFAULT_REGISTRY.items()
    }


def parse_extra_models(text) -> dict[str, dict]:
    """Parse ``--extra-models``: JSON (object name -> size|{...}, or a list of
    {"name", "size", ...}) or a comma list ``name=size,name=size``.

    Returns name -> dict (with at least "size"; "installed" if given)."""
    if text is None or text == "":
        return {}
    data = text
    if isinstance(text, str):
        stripped = text.strip()
        if stripped[:1] in "[{":
            data = json.loads(stripped)
        else:
            data = {}
            for item in stripped.split(","):
                item = item.strip()
                if not item:
                    continue
                name, sep, size = item.rpartition("=")
                if not sep or not name:
                    raise ValueError(f"bad extra model {item!r}: expected name=size")
                data[name.strip()] = int(float(size))
    if isinstance(data, list):
        data = {d["name"]: d for d in data}
    out: dict[str, dict] = {}
    for name, value in data.items():
        out[name] = dict(value) if isinstance(value, dict) else {"size": int(value)}
    return out
