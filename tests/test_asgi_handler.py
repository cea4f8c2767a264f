"""The web server's handler (llmsite/asgi.py), driven as the ASGI server drives it: calls with a
body take one of a few turns once their body is read, and a waiting client's request is let go
while it waits (issue 12: a thousand waiting clients in little memory)."""

import asyncio
import gc
import json
import threading
import weakref

import pytest
from asgiref.sync import async_to_sync

from llm.doors.authentication import ApiKeyAuthentication
from llm.models import GenerationRequest
from llmsite.asgi import PooledASGIHandler

pytestmark = pytest.mark.django_db(transaction=True)

DEADLINE = 30  # seconds: a hang fails the test instead of the suite


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    settings.STORAGES = {  # no collectstatic in unit tests
        **settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


class Client:
    """One call through `app`, as uvicorn makes it; `body_sent` (an asyncio.Event) holds back its body."""

    def __init__(self, app, method, path, body=None, key=None, body_sent=None):
        self.app, self.method, self.path, self.key, self.body_sent = app, method, path, key, body_sent
        self.body = json.dumps(body).encode() if body is not None else b""
        self.messages, self.gone = [], asyncio.Event()

    async def call(self):
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(self.body)).encode())]
        if self.key:
            headers.append((b"x-api-key", self.key.encode()))
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": self.method,
                 "scheme": "http", "path": self.path, "raw_path": self.path.encode(), "query_string": b"",
                 "root_path": "", "headers": headers, "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80)}
        await self.app(scope, self.receive, self.send)
        return self.status

    async def receive(self):
        if self.body_sent is not None:
            await self.body_sent.wait()
        if self.body is not None:
            body, self.body = self.body, None
            return {"type": "http.request", "body": body, "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message):
        self.messages.append(message)

    @property
    def status(self):
        return next((message["status"] for message in self.messages if message["type"] == "http.response.start"), None)


def test_a_client_sending_its_body_slowly_holds_no_turn():
    app = PooledASGIHandler(threads=2, admitted=1)

    async def scenario():
        slow = asyncio.create_task(Client(app, "POST", "/v1/chat/completions", {}, body_sent=asyncio.Event()).call())
        await asyncio.sleep(0)  # the slow one is in, waiting for its body
        quick = await asyncio.wait_for(Client(app, "POST", "/v1/chat/completions", {}).call(), DEADLINE)
        slow.cancel()
        return quick

    assert async_to_sync(scenario)() == 401  # answered (no key) while the slow one still sends


def test_a_call_with_a_body_waits_its_turn_while_a_get_goes_ahead(monkeypatch, alice_token):
    app = PooledASGIHandler(threads=4, admitted=1)
    inside, leave = threading.Event(), threading.Event()
    authenticated = []
    authenticate = ApiKeyAuthentication.authenticate

    def held(self, request):
        authenticated.append(request.path)
        if len(authenticated) == 1:
            inside.set()
            leave.wait(DEADLINE)
        return authenticate(self, request)

    monkeypatch.setattr(ApiKeyAuthentication, "authenticate", held)

    async def scenario():
        key = alice_token[1]
        first = asyncio.create_task(Client(app, "POST", "/v1/chat/completions", {}, key=key).call())
        await asyncio.to_thread(inside.wait, DEADLINE)
        second = asyncio.create_task(Client(app, "POST", "/v1/chat/completions", {}, key=key).call())
        page = await asyncio.wait_for(Client(app, "GET", "/accounts/login/").call(), DEADLINE)
        waited = (app.admitted.locked(), len(authenticated), second.done())
        leave.set()
        return page, waited, await asyncio.wait_for(asyncio.gather(first, second), DEADLINE)

    page, (gate_taken, seen, second_done), statuses = async_to_sync(scenario)()
    assert page == 200
    assert gate_taken and seen == 1 and not second_done  # the second waited for the first's turn
    assert statuses == [400, 400] and len(authenticated) == 2  # then both were checked ({} lacks a model)


def test_a_waiting_clients_request_is_let_go_while_it_waits(monkeypatch, alice_token, idle_worker):
    app = PooledASGIHandler(threads=2)
    made = []
    create_request = PooledASGIHandler.create_request

    def recorded(self, scope, body_file):
        request, response = create_request(self, scope, body_file)
        made.append(weakref.ref(request))
        return request, response

    monkeypatch.setattr(PooledASGIHandler, "create_request", recorded)

    async def scenario():
        client = Client(app, "POST", "/api/v1/llm/generate", {"model": "llama3.2:3b", "prompt": "hello", "wait": True},
                        key=alice_token[1])
        call = asyncio.create_task(client.call())
        while not await asyncio.to_thread(GenerationRequest.objects.exists):
            await asyncio.sleep(0.01)
        for _ in range(200):  # the view returns, then its request is let go before the wait
            gc.collect()
            if made and made[0]() is None:
                break
            await asyncio.sleep(0.01)
        let_go = made[0]() is None
        client.gone.set()  # the client hangs up: its request is cancelled
        status = await asyncio.wait_for(call, DEADLINE)
        return let_go, status

    let_go, status = async_to_sync(scenario)()
    assert let_go
    assert status is None  # nothing sent to a client that left
    assert GenerationRequest.objects.get().status == GenerationRequest.Status.CANCELLED
