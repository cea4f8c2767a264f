"""The real model behind the service, for the benchmarks that measure it (bench/relay.py, bench/real_tokens.py).

Both ask the same greedy question of the real stand-in (SmolLM2 through llama-cpp-python) directly and
through the service, as the Procfile runs it, and compare.
"""

from __future__ import annotations

import argparse
import contextlib

import requests

from llm.standin.backend import REAL_EXTRAS_HINT, real_extras_missing
from tests.support.service import Service
from tests.support.standin import Standin

MODEL = "llama3.2:1b"  # the name the real stand-in answers to
PROMPT = "Write a detailed essay about the history of the printing press."
TOKENS = 256


def arguments(description: str, runs: int, argv=None) -> argparse.Namespace:
    return arguments_parser(description, runs).parse_args(argv)


def arguments_parser(description: str, runs: int) -> argparse.ArgumentParser:
    """The arguments every bench of the real model takes, for a bench to add its own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--runs", type=int, default=runs, help="measured calls on each side (after a warm-up)")
    parser.add_argument("--tokens", type=int, default=TOKENS, help="num_predict of every call")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.set_defaults(default_runs=runs)
    return parser


def command(script: str, args: argparse.Namespace) -> str:
    """How to run `script` again with these arguments (the defaults left out)."""
    return script + (f" --runs {args.runs}" if args.runs != args.default_runs else "") + (
        f" --tokens {args.tokens}" if args.tokens != TOKENS else "")


def greedy(tokens: int) -> dict:
    """Ollama's options for the same tokens on both sides."""
    return {"temperature": 0, "seed": 1, "num_predict": tokens}


def for_the_service(options: dict) -> dict:
    """The same options as the service's API takes them: max_tokens for Ollama's num_predict."""
    return {**{key: value for key, value in options.items() if key != "num_predict"}, "max_tokens": options["num_predict"]}


@contextlib.contextmanager
def real_standin_service():
    """(stand-in, service, a session to call the stand-in directly): the real model and the service in front of it."""
    missing = real_extras_missing()
    if missing:
        raise SystemExit(f"{missing}: install the real-inference extras first ({REAL_EXTRAS_HINT})")
    with Standin.start(backend="llama", timeout=60) as standin, Service.start(standin) as service, \
            requests.Session() as direct:
        direct.trust_env = False  # never a proxy for 127.0.0.1
        yield standin, service, direct
