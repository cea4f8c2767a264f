"""Every change of the service's state, whoever asks and through whichever door.

Each action checks that the actor may (roles.require_operator), acts through the module
that owns the work, and writes the audit entry naming the token or the user:

    actions.switch(Actor.of(request), "phi4:mini", wait=120)

Loading a model (Ollama's empty prompt) is a switch; Ollama's keep_alive 0 is an unload.
A change that fails is not written down as done (a pull is: it is asked for at once).
"""

from llm import audit, catalog
from llm.engine import nodes, residency
from llm.engine.ollama import ModelNotFound, OllamaUnavailable, client
from llm.models import ModelPull, Node
from llm.queue import intake, runner, tasks
from llm.rules.roles import Actor, require_operator

Action = audit.Action


def switch(actor: Actor, name: str, wait: float, node: str | None = None) -> str:
    """Make `name` the one model in memory on `node` (None: where the fleet would run it;
    /switch, Ollama's load, the dashboard's Switch); returns the node."""
    require_operator(actor)
    node = residency.switch_to(name, wait=wait, node=node)
    audit.record(Action.SWITCH, name, **actor.audit_fields(), **_node_field(node))
    return node


def unload(actor: Actor, wait: float, node: str | None = None) -> list[str]:
    """Free the memory of `node` (None: of every node) now; returns the names unloaded."""
    require_operator(actor)
    unloaded = residency.unload(wait=wait, node=node)
    audit.record(Action.UNLOAD, ", ".join(unloaded) or "nothing", **actor.audit_fields(), **_node_field(node))
    return unloaded


def pull(actor: Actor, name: str, node: str | None = None) -> list[ModelPull]:
    """Download a catalog model in the background to `node` (None: to every node), or join
    the pulls already on their way; one pull per node."""
    require_operator(actor)
    audit.record(Action.PULL, name, **actor.audit_fields(), **_node_field(node))
    return intake.submit_pulls([name], actor.token, nodes=[node] if node else None)


def pull_all(actor: Actor) -> list[ModelPull]:
    require_operator(actor)
    names = catalog.names()
    audit.record(Action.PULL_ALL, ", ".join(names), **actor.audit_fields())
    return intake.submit_pulls(names, actor.token)


def cancel_pull(actor: Actor, pull: ModelPull) -> bool:
    """Stop a pull; False when it had already ended."""
    require_operator(actor)
    if not pull.cancel():
        return False
    audit.record(Action.PULL_CANCEL, pull.model, **actor.audit_fields())
    return True


def delete(actor: Actor, name: str) -> None:
    """Remove a catalog model from the disk of every node that has it. A node without it is
    skipped; a node that does not answer does not stop the others, and the call then fails
    naming it (what was deleted is in the audit log). Not found anywhere: ModelNotFound."""
    require_operator(actor)
    tag = catalog.get(name).tag
    deleted, unreachable = [], []
    for node in nodes.names():
        try:
            nodes.ollama(node).delete(tag)
        except ModelNotFound:
            continue
        except OllamaUnavailable as exc:
            unreachable.append(f"{node} ({exc})")
            continue
        deleted.append(node)
        nodes.get(node).forget_installed(tag)
    if deleted:
        audit.record(Action.DELETE, name, **actor.audit_fields(), **_nodes_field(deleted))
    if unreachable:
        raise OllamaUnavailable(f"{name} could not be deleted on node {', '.join(unreachable)}"
                                + (f"; it was deleted on {', '.join(deleted)}" if deleted else ""))
    if not deleted:
        raise ModelNotFound(f"model '{name}' not found", status_code=404)


def process_queue(actor: Actor, max_iterations: int, wait: float) -> int:
    """Run up to `max_iterations` queued requests inside the call; returns how many ran."""
    require_operator(actor)
    processed = runner.drain(max_iterations, lease_wait=wait)
    audit.record(Action.QUEUE_PROCESS, "queue", processed=processed, **actor.audit_fields())
    return processed


def clear_queue(actor: Actor) -> int:
    """Cancel every request not yet started; returns how many."""
    require_operator(actor)
    cleared = intake.clear_waiting()
    audit.record(Action.QUEUE_CLEAR, "queue", cleared=cleared, **actor.audit_fields())
    return cleared


def take_out_of_service(actor: Actor, node: str, in_service: bool) -> None:
    """Take a node out of service (it finishes what it runs and takes nothing new), or back."""
    require_operator(actor)
    Node.objects.filter(pk=nodes.get(node).pk).update(in_service=in_service)
    audit.record(Action.NODE_SERVICE, node, in_service=in_service, **actor.audit_fields())
    if in_service:
        tasks.wake_generation_worker()


def _node_field(node):
    return {"node": node} if node else {}


def _nodes_field(names):
    return {"nodes": names} if nodes.is_fleet() else {}
