"""manage.py worker runs django-q2's cluster as threads of one process: pulls still run beside generations."""

from concurrent.futures import ThreadPoolExecutor

from bench import procfs
from tests.support.service import poll


def test_the_worker_is_one_process(service, standin):
    assert procfs.session_pids(service.worker.pid) == [service.worker.pid]


def test_a_pull_finishes_while_a_generation_runs(service, standin):
    standin.configure(installed=["llama3.2:1b"], token_seconds=0.05, pull_seconds=0.5)
    with ThreadPoolExecutor(max_workers=1) as pool:
        long = pool.submit(service.post, "/generate", {"model": "llama3.2:1b", "prompt": "a long one",
                                                      "options": {"max_tokens": 200}})  # about 10 s
        poll(lambda: service.get("/status").json()["is_processing"], 10, message="the generation to run")
        service.post("/pull", {"model": "gemma3:4b"})
        pull = poll(lambda: next((p for p in service.get("/pulls").json()["pulls"] if p["status"] == "done"), None),
                    30, message="the pull to finish")
        assert pull["model"] == "gemma3:4b"
        assert service.get("/status").json()["is_processing"], "the pull should not wait for the generation"
        assert long.result(timeout=60).status_code == 200
