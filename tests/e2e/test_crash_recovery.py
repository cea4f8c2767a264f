"""Nothing is lost when the worker dies or is stopped: real processes, real signals."""

import json
import signal
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.service import poll

pytestmark = pytest.mark.e2e


def submit(service, count, tokens=20):
    return [
        service.post("/generate", {"model": ["llama3.2:1b", "phi4:mini"][n % 2], "prompt": f"survivor {n}",
                                   "wait": False, "options": {"max_tokens": tokens}}).json()["request_id"]
        for n in range(count)
    ]


def wait_until_something_runs(service):
    poll(lambda: service.get("/status").json()["is_processing"], 10, message="a request to run")


def test_a_sigkilled_worker_loses_nothing_and_runs_nothing_twice_at_once(service, standin):
    standin.configure(token_seconds=0.02)
    ids = submit(service, 20)
    wait_until_something_runs(service)
    service.kill_worker(signal.SIGKILL)  # the whole process group, mid-generation
    assert service.get("/status").json()["is_processing"] is True  # left "running" by the dead worker
    service.start_worker()
    results = [service.wait_until_finished(request_id, timeout=90) for request_id in ids]
    for result in results:
        assert result["status"] == "done" or (result["status"] == "failed" and result["error"]), result
    assert sum(result["status"] == "done" for result in results) >= 19
    counters = standin.counters()
    assert counters["max_concurrent_generations"] == 1
    assert counters["max_resident"] == 1
    prompts = counters["prompts"]
    # Each prompt reached Ollama once, but for the one cut short, which ran again if it had stored no text.
    assert sorted(prompts.values())[:-1] == [1] * 19 and max(prompts.values()) <= 2
    assert len(prompts) == 20


def test_a_stream_cut_short_by_a_sigkilled_worker_never_joins_two_runs(service, standin):
    standin.configure(token_seconds=0.02)
    prompt = "never joined twice"
    body = {"model": "llama3.2:1b", "prompt": prompt, "stream": True, "options": {"max_tokens": 400}}  # about 8 s
    with service.post("/generate", body, stream=True) as response:
        lines = (json.loads(raw) for raw in response.iter_lines() if raw)
        first = next(line for line in lines if line.get("response"))
        service.kill_worker(signal.SIGKILL)  # mid-generation, with text the client already holds
        service.start_worker()
        rest = list(lines)
    streamed = first["response"] + "".join(line.get("response", "") for line in rest)
    last = rest[-1]
    assert last["done"] is True and last["success"] is False, last
    assert "stopped in the middle of the reply" in last["message"]
    assert service.get(f"/requests/{first['request_id']}").json()["status"] == "failed"
    # What the client got is the start of one run, and no second run wrote anything after it.
    assert ("echo:" + f" {prompt}" * 200).startswith(streamed)
    assert standin.counters()["prompts"][prompt] == 1


def test_sigterm_lets_the_worker_finish_the_request_in_hand(service, standin):
    standin.configure(token_seconds=0.02)
    ids = submit(service, 5, tokens=50)  # about 1 s each
    wait_until_something_runs(service)
    running = next(rid for rid in ids if service.get(f"/requests/{rid}").json()["status"] == "running")
    service.worker.send_signal(signal.SIGTERM)
    assert service.worker.wait(timeout=30) == 0
    assert service.get(f"/requests/{running}").json()["status"] == "done"
    assert service.get("/status").json()["queue_length"] >= 1, "it should stop, not drain the whole queue"
    service.start_worker()
    assert all(service.wait_until_finished(rid, timeout=60)["status"] == "done" for rid in ids)
    assert set(standin.counters()["prompts"].values()) == {1}


def test_sigterm_stops_a_worker_lingering_for_the_next_request_without_waiting_it_out(service, standin):
    service.worker.send_signal(signal.SIGTERM)
    assert service.worker.wait(timeout=30) == 0
    service.env["LLM_WORKER_LINGER_SECONDS"] = "25"
    try:
        service.start_worker()
        [request_id] = submit(service, 1, tokens=5)
        assert service.wait_until_finished(request_id)["status"] == "done"
        # Its task now waits up to 25 s for the next request, listening for it.
        poll(lambda: any((service.folder / "run").glob("work.*")), 10, message="the task to linger")
        service.worker.send_signal(signal.SIGTERM)
        assert service.worker.wait(timeout=20) == 0
    finally:
        del service.env["LLM_WORKER_LINGER_SECONDS"]
        service.start_worker()
    [request_id] = submit(service, 1, tokens=5)
    assert service.wait_until_finished(request_id)["status"] == "done"


def test_sigterm_to_the_web_server_lets_a_waiting_call_get_its_answer(service, standin):
    standin.configure(token_seconds=0.05)
    with ThreadPoolExecutor(max_workers=2) as pool:
        waiting = pool.submit(service.post, "/generate", {"model": "llama3.2:1b", "prompt": "finish me",
                                                          "options": {"max_tokens": 40}})  # about 2 s
        wait_until_something_runs(service)
        queued = service.post("/generate", {"model": "llama3.2:1b", "prompt": "after the restart", "wait": False})
        service.web.send_signal(signal.SIGTERM)
        answer = waiting.result(timeout=60)
    assert answer.status_code == 200 and answer.json()["done"] is True
    assert service.web.wait(timeout=30) == 0
    # What was accepted before the stop runs anyway, and is there after a restart.
    service.start_web()
    assert service.wait_until_finished(queued.json()["request_id"])["status"] == "done"


def test_a_pull_cut_short_by_a_dead_worker_resumes(service, standin):
    standin.configure(installed=[], pull_seconds=4)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(service.post, "/pull", {"model": "gemma3:4b"})

        def progress():
            pulls = service.get("/pulls").json()["pulls"]
            return pulls and pulls[0]["completed"] > 0 and pulls[0]

        pull = poll(progress, 10, message="the pull to start")
        service.kill_worker(signal.SIGKILL)
        service.start_worker()
        poll(lambda: service.get(f"/pulls/{pull['id']}").json()["pull"]["status"] == "done", 60,
             message="the pull to resume and finish")
    assert "gemma3:4b" in [model["name"] for model in service.get("/status").json()["installed_models"]]
