"""The durable queue: requests stored in the database, run one at a time by the worker.

- intake: a request comes in (the queue's bound and the limits), and a door waits for it.
- policy: which waiting request runs next (swap-aware, fair per token) and queue positions.
- fleet: which node runs which request, when there are several (the policy per node).
- runner: the worker's loop: claim the next request, run it on the engine, store the end.
- relay: a reply from Ollama's stream to its row and to the clients streaming it.
- linger: a generation task that runs requests back to back and waits a moment for the next.
- tasks: the django-q2 task functions that wake the worker.
- broker: django-q2's ORM broker that wakes a sleeping worker at once.
- wakeups: the push wake-ups between processes (a request changed, work waits, a stream's news).
- hub: a web process's one wake-up socket, for all its waiting clients.
- pgwakeups: the same wake-ups between hosts, over PostgreSQL LISTEN/NOTIFY.
- positions: the shared board of places in line, read once per change of the queue.
- offthread: the small pool that runs a waiting client's database work off the event loop.
- follow: a request's life as a stream of events, for the doors that stream.
"""
