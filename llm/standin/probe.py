"""bin/serve's questions about the Ollama at OLLAMA_HOST, which may carry user:password@.

    python -m llm.standin.probe shown URL           the URL to print: user:password@ replaced by ***@
    python -m llm.standin.probe address URL         "host port", where to start the stand-in
    python -m llm.standin.probe answers URL SECONDS  exit 0 once /api/version answers, 1 after SECONDS
    python -m llm.standin.probe standin URL          "llama" or "echo" when the stand-in answers, else ""

A URL with credentials is asked without them in the URL (urllib refuses those) and
with them as HTTP Basic authentication, as Ollama's clients send them. Standard
library only, no proxies (the stand-in is local), and a password is never printed.
"""

from __future__ import annotations

import base64
import sys
import time
import urllib.request
from urllib.parse import unquote, urlsplit, urlunsplit

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
DEFAULT_PORT = 11434


def parts(url: str):
    return urlsplit(url if "://" in url else f"http://{url}")


def shown(url: str) -> str:
    """`url` with its credentials, if any, replaced by *** (a user name may be a token too)."""
    split = parts(url)
    if "@" not in split.netloc:
        return urlunsplit(split)
    return urlunsplit(split._replace(netloc="***@" + split.netloc.rsplit("@", 1)[1]))


def address(url: str) -> tuple[str, int]:
    split = parts(url)
    return split.hostname or "127.0.0.1", split.port or DEFAULT_PORT


def get(url: str, path: str, timeout: float = 2):
    """GET `path` at `url`, with its credentials as Basic authentication."""
    split = parts(url)
    bare = urlunsplit(split._replace(netloc=split.netloc.rsplit("@", 1)[-1])).rstrip("/")
    request = urllib.request.Request(bare + path)
    if split.username is not None:
        pair = f"{unquote(split.username)}:{unquote(split.password or '')}"
        request.add_header("Authorization", "Basic " + base64.b64encode(pair.encode()).decode())
    return _OPENER.open(request, timeout=timeout)


def answers(url: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with get(url, "/api/version"):
                return True
        except Exception:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)


def standin_backend(url: str) -> str:
    try:
        with get(url, "/api/version", timeout=5) as response:
            return response.headers.get("X-Ollama-Standin", "")
    except Exception:
        return ""


def main(argv: list[str]) -> int:
    match argv:
        case ["shown", url]:
            print(shown(url))
        case ["address", url]:
            print(*address(url))
        case ["answers", url, seconds]:
            return 0 if answers(url, float(seconds)) else 1
        case ["standin", url]:
            print(standin_backend(url))
        case _:
            print(__doc__, file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
