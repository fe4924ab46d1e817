"""Integration fixtures: real threads on PostgreSQL, a real Celery worker process on Redis, a real broker outage.

Nothing here mocks our own code or database. The only thing a test may swap is the external broker's address.
"""

import importlib
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from aura_project.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]
UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"


@pytest.fixture
def governance_defaults(transactional_db) -> None:
    """The seed policies and the first settings version, as their data migration writes them.

    A transactional test's teardown flushes every table, data migrations' rows included, so a test that
    runs after another one's flush would find no policy (and no sanction) unless it writes them again."""
    seed_defaults = importlib.import_module("governance.migrations.0006_seed_defaults").seed
    seed_defaults(django_apps, None)


@pytest.fixture
def manager_client_factory(manager_key) -> Callable[[], APIClient]:
    """New API clients holding the Manager's key: one per thread, since a client is not thread-safe.

    They answer a server error with its 500 instead of raising it, so a test can count the 5xx."""

    def make() -> APIClient:
        client = APIClient(raise_request_exception=False)
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {manager_key.raw_key}")
        return client

    return make


@pytest.fixture
def staff(manager_key) -> Callable[..., None]:
    """Hire workers and register tasks through the API: staff({"w0": ["t0", "t1"]}) assigns t0, t1 to w0."""

    def hire_and_assign(holdings: dict[str, list[str]], *, capability: str = "code", priority: int = 1) -> None:
        for model_id, task_ids in holdings.items():
            hired = manager_key.post(
                "/api/workers/", {"model_id": model_id, "capabilities": [capability]}, format="json"
            )
            assert hired.status_code == 201, hired.content
            for task_id in task_ids:
                body = {"task_id": task_id, "capability": capability, "priority": priority, "model_id": model_id}
                registered = manager_key.post("/api/tasks/", body, format="json")
                assert registered.status_code == 201, registered.content

    return hire_and_assign


def _run_concurrently(count: int, target: Callable[[int], object], *, timeout: float = 60) -> list:
    """Run target(0..count-1) in `count` threads released together by a barrier; return their results in order.

    Each thread closes its own database connection at the end, or the test database could not be flushed."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=timeout)
            results[index] = target(index)
        except BaseException as exc:  # noqa: B036 - surfaced to the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,), name=f"reporter-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a reporting thread hung"
    if errors:
        raise errors[0]
    return results


@pytest.fixture
def concurrently() -> Callable[..., list]:
    """concurrently(16, fn): fn(0..15) in 16 threads at once, results in order; a thread's exception re-raised."""
    return _run_concurrently


# --- The broker -------------------------------------------------------------------------------------------


@contextmanager
def broker_at(url: str) -> Iterator[None]:
    """Point this process's Celery app at another broker, and back afterwards.

    Celery reads CELERY_BROKER_URL from the environment before its configuration, and keeps a pool of
    connections to the broker it used last, so all three are switched."""
    saved_env, saved_url = os.environ.get("CELERY_BROKER_URL"), celery_app.conf.broker_url

    def reset_pools() -> None:
        # Dropped, not closed: kombu keeps one pool per broker URL in a process-wide registry, and the next
        # test's sends go back through the same pool for the real broker.
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    os.environ["CELERY_BROKER_URL"] = celery_app.conf.broker_url = url
    reset_pools()
    try:
        yield
    finally:
        if saved_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = saved_env
        celery_app.conf.broker_url = saved_url
        reset_pools()


@pytest.fixture
def broker_down() -> Callable[[], object]:
    """A context manager that makes the broker unreachable (connection refused) for its duration."""
    return lambda: broker_at(UNREACHABLE_BROKER)


@pytest.fixture
def private_queue() -> Iterator[str]:
    """A queue of this test's own on the configured Redis, so a stray message from another run is never
    consumed here, and ours are never consumed elsewhere. Deleted afterwards."""
    import redis

    name = f"aura-it-{uuid.uuid4().hex[:12]}"
    saved = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = name
    try:
        yield name
    finally:
        celery_app.conf.task_default_queue = saved
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        client.delete(name, f"_kombu.binding.{name}", f"_kombu.binding_permanent.{name}")
        client.close()


class WorkerProcess:
    """A `celery -A aura_project worker` subprocess on the test database, consuming one queue."""

    def __init__(self, queue: str, log_path: Path):
        self.queue, self.log_path = queue, log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        db = connection.settings_dict  # after pytest-django's setup: NAME is the test database
        credentials = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{credentials}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "PYTHONPATH": str(ROOT),
        }
        env.pop("AURA_TEST_DB_NAME", None)
        command = [
            sys.executable, "-m", "celery", "-A", "aura_project", "worker",
            "--pool", "solo", "--queues", self.queue, "--loglevel", "INFO",
            "--without-heartbeat", "--without-gossip", "--without-mingle",
            "--hostname", f"{self.queue}@%h",
        ]  # fmt: skip
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # a warm shutdown: the solo pool finishes its task first
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def succeeded(self, task_id: str) -> bool:
        """Whether the worker has logged this task message as done."""
        return f"[{task_id}] succeeded" in self.log()


@pytest.fixture
def celery_worker(transactional_db, private_queue) -> Iterator[WorkerProcess]:
    """A real Celery worker process against the real broker and the test database.

    It is stopped before the test database is flushed, so it holds no connection when that happens."""
    if settings.DATABASE_VENDOR != "postgresql":
        pytest.skip("the worker process shares the test database over PostgreSQL")
    with tempfile.TemporaryDirectory() as tmp:
        worker = WorkerProcess(private_queue, Path(tmp) / "worker.log")
        worker.start()
        try:
            yield worker
        finally:
            worker.stop()


def _wait_for(predicate: Callable[[], object], *, timeout: float, what: str, worker: WorkerProcess | None = None):
    """Poll until predicate() is truthy; fail with the worker's log if it never is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    detail = f"\n--- worker log (tail) ---\n{worker.log()[-4000:]}" if worker else ""
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}{detail}")


@pytest.fixture
def wait_for() -> Callable[..., object]:
    """wait_for(predicate, timeout=60, what="...", worker=...): a bounded poll."""
    return _wait_for
