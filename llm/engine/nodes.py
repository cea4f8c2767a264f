"""The fleet's nodes: the Ollama servers of LLM_NODES, each with room for one model.

Unset, LLM_NODES is one node named "default" at OLLAMA_HOST, and a one-box gateway
works as it always did. The database keeps a row per node (llm.Node): whether it
is in service (the admin and the dashboard switch it), whether it answers (marked
down on a failure, asked again with a doubling pause), and what it last held.
"""

import logging
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from llm import catalog
from llm.engine.ollama import OllamaError, OllamaUnavailable, client
from llm.models import Node, rows

log = logging.getLogger(__name__)

DEFAULT = "default"


class UnknownNode(ValueError):
    """A node name that LLM_NODES does not have."""


def configured() -> dict[str, str]:
    """{name: url} in the order of LLM_NODES (read now: tests point OLLAMA_HOST elsewhere)."""
    return dict(settings.LLM_NODES) if settings.LLM_NODES else {DEFAULT: settings.OLLAMA_HOST}


def names() -> list[str]:
    return list(configured())


def first() -> str:
    return names()[0]


def is_fleet() -> bool:
    return len(configured()) > 1


def url_of(name: str) -> str:
    try:
        return configured()[name]
    except KeyError:
        raise UnknownNode(f"No node named {name!r}; the nodes are {', '.join(names())}") from None


def shown_url(url: str) -> str:
    """The URL without a user:password@."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=(parts.hostname or "") + (f":{parts.port}" if parts.port else "")))


def ollama(name: str):
    """The HTTP client of node `name` (this thread's)."""
    return client(url_of(name))


def all_nodes() -> list[Node]:
    """The rows of the configured nodes, in LLM_NODES order, made or updated as the settings say."""
    wanted = configured()
    rows = {node.name: node for node in Node.objects.filter(name__in=wanted)}
    for name, url in wanted.items():
        shown = shown_url(url)
        if name not in rows:
            try:
                with transaction.atomic():  # a savepoint: PostgreSQL goes on after the IntegrityError
                    rows[name] = Node.objects.create(name=name, url=shown)
            except IntegrityError:  # another process made it first
                rows[name] = Node.objects.get(name=name)
        elif rows[name].url != shown:
            # Another server now: what we knew of the old one does not hold.
            Node.objects.filter(name=name).update(url=shown, resident="", resident_seen_at=None, installed=None)
            rows[name].refresh_from_db()
    return [rows[name] for name in wanted]


def get(name: str) -> Node:
    """Node `name`'s row, made or updated as the settings say (UnknownNode for a name they lack).

    The worker reads it for every request it runs: one statement written once
    (llm/models/rows.py); `all_nodes()` only when the row is missing or out of date."""
    url = url_of(name)
    found = rows.fetch(Node, _one_node_sql(), [name])
    if found and found[0].url == shown_url(url):
        return found[0]
    return next(node for node in all_nodes() if node.name == name)


@lru_cache
def _one_node_sql():
    quote = connection.ops.quote_name
    return f"SELECT {rows.columns(Node)} FROM {quote(Node._meta.db_table)} WHERE {quote('name')} = %s"


def check(node: Node) -> bool:
    """Ask the node what it has installed; mark it up or down. True: it answers.

    What is resident is the engine's to write down, under the node's lease
    (llm/engine/residency.py): a check runs beside it."""
    try:
        installed = [_tag_of(model) for model in ollama(node.name).tags()]
    except OllamaError as exc:
        if node.reachable:
            log.warning("Node %s is down: %s", node.name, exc)
        node.mark_down(exc)
        return False
    if not node.reachable:
        log.warning("Node %s answers again", node.name)
    node.mark_up()
    node.saw_installed(installed)
    return True


def check_due() -> None:
    """Ask again the down nodes whose pause is over."""
    for node in all_nodes():
        if node.recheck_due():
            check(node)


def failed(node: Node, exc: Exception) -> None:
    """A call to the node failed: a broken connection marks it down; any error makes us ask
    Ollama what is resident next time."""
    if isinstance(exc, OllamaUnavailable):
        node.mark_down(exc)
    else:
        node.forget_resident()


def _tag_of(model):
    return catalog.normalize_tag(model.get("model") or model["name"])


def gather(call) -> list:
    """`call(client)`'s lists from every node that answers, joined (the Ollama door's /api/tags
    and /api/ps for the fleet); a model on several nodes is listed once. Raises the first
    node's error when none answers."""
    seen, failures = {}, []
    for name in names():
        try:
            for model in call(ollama(name)):
                seen.setdefault(_tag_of(model), model)
        except OllamaError as exc:
            failures.append(exc)
    if failures and len(failures) == len(names()):
        raise failures[0]
    return list(seen.values())
