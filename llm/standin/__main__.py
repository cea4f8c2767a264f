"""CLI: ``python -m llm.standin --host 127.0.0.1 --port 11434 [settings]``.

Every flag also reads an environment variable STANDIN_<FLAG> (flags win).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from .models import default_registry, normalize_name, parse_extra_models, spec_from
from .server import make_server
from .state import Settings


def _env(name: str, default):
    return os.environ.get("STANDIN_" + name, default)


def build_settings(args: argparse.Namespace) -> Settings:
    registry = default_registry()
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
    return Settings(
        load_seconds=args.load_seconds,
        token_seconds=args.token_seconds,
        pull_seconds=args.pull_seconds,
        ram_mb=args.ram_mb,
        registry=registry,
        installed=installed,
    )


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m llm.standin", description="Ollama API stand-in")
    p.add_argument("--host", default=_env("HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(_env("PORT", 11434)), help="0 = any free port")
    p.add_argument("--load-seconds", type=float, default=float(_env("LOAD_SECONDS", 0.2)))
    p.add_argument("--token-seconds", type=float, default=float(_env("TOKEN_SECONDS", 0.01)))
    p.add_argument("--pull-seconds", type=float, default=float(_env("PULL_SECONDS", 1.0)),
                   help="duration of a whole pull")
    p.add_argument("--ram-mb", type=float, default=float(_env("RAM_MB", 4096)))
    p.add_argument("--installed", default=_env("INSTALLED", None),
                   help='comma list of installed models ("" = none; default: all registry models)')
    p.add_argument("--extra-models", default=_env("EXTRA_MODELS", ""),
                   help='registry additions: JSON {"name": size | {"size":..,"installed":true}} '
                        "or name=size,name=size")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    settings = build_settings(args)
    server = make_server(args.host, args.port, settings)
    print(
        f"ollama stand-in listening on {server.url} (load_seconds={settings.load_seconds} "
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
