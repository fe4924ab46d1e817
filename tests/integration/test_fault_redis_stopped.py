"""Redis stopped during ingestion (issue 9). The test runs a Redis server of its own on a free port, as the broker
and the throttle's cache of this process and of a real Celery worker, and stops it (never the shared one).
While it is down the API keeps answering: the throttle fails open, single reports are recorded, a batch is
stored and a scoring run started, though neither can be queued. When Redis returns, the sweeper sends both and
the worker finishes them: 0 reports lost, 0 5xx."""

import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import pytest
import redis
from django.db import connection
from django.test.utils import override_settings
from django.utils import timezone

from aura_project.celery import app as celery_app
from governance.models import AuditRecord, AuditRun, ScoringRun
from governance.services.audit_runs import audit_runs_sweep
from governance.services.scoring_runs import scoring_run_start, scoring_runs_sweep
from workforce.api import throttling
from workforce.domain.actor import BEAT

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("governance_defaults"),
]

ROOT = Path(__file__).resolve().parents[2]
SINGLE_REPORTS = 30
BATCH_REPORTS = 10
WORKERS = [f"outage/w{i}" for i in range(3)]


class OwnRedis:
    """A redis-server of this test's own, without persistence, on a port nobody else uses."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def own_redis():
    server = OwnRedis()
    if subprocess.run(["which", "redis-server"], capture_output=True).returncode != 0:
        pytest.skip("needs redis-server on PATH")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def on_own_redis(own_redis, monkeypatch):
    """This process's broker, queue and throttle cache on the test's own Redis; a Celery worker there too."""
    queue = f"aura-outage-{uuid.uuid4().hex[:12]}"
    saved = os.environ.get("CELERY_BROKER_URL"), celery_app.conf.broker_url, celery_app.conf.task_default_queue

    def reset_pools() -> None:
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    os.environ["CELERY_BROKER_URL"] = celery_app.conf.broker_url = own_redis.url
    celery_app.conf.task_default_queue = queue
    reset_pools()
    monkeypatch.setattr(throttling, "_redis_down_until", 0.0)
    cache = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": own_redis.url}}
    db = connection.settings_dict
    credentials = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{credentials}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": own_redis.url,
        "PYTHONPATH": str(ROOT),
    }
    env.pop("AURA_TEST_DB_NAME", None)
    command = [
        sys.executable, "-m", "celery", "-A", "aura_project", "worker", "--pool", "solo", "--queues", queue,
        "--loglevel", "INFO", "--without-heartbeat", "--without-gossip", "--without-mingle",
        "--hostname", f"{queue}@%h",
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp, override_settings(CACHES=cache):
        log_path = Path(tmp) / "worker.log"
        with log_path.open("wb") as log:
            worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield own_redis, log_path
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(timeout=5)
            env_url, broker_url, default_queue = saved
            if env_url is None:
                os.environ.pop("CELERY_BROKER_URL", None)
            else:
                os.environ["CELERY_BROKER_URL"] = env_url
            celery_app.conf.broker_url, celery_app.conf.task_default_queue = broker_url, default_queue
            reset_pools()


def test_with_redis_stopped_reports_are_recorded_without_a_5xx_and_queued_runs_finish_when_it_returns(
    on_own_redis, staff, manager_key, wait_for
):
    own_redis, worker_log = on_own_redis
    tasks = {model_id: [f"{model_id}/t{n}" for n in range(SINGLE_REPORTS + BATCH_REPORTS)] for model_id in WORKERS}
    staff(tasks)
    singles = [
        {"task_id": tasks[WORKERS[n % 3]][n], "logs": [f"step {n}"], "report_id": f"outage/{n}"}
        for n in range(SINGLE_REPORTS)
    ]
    batch = [
        {"task_id": tasks[WORKERS[n % 3]][SINGLE_REPORTS + n], "logs": [f"batch {n}"]} for n in range(BATCH_REPORTS)
    ]

    own_redis.stop()
    started = time.monotonic()
    statuses = Counter(manager_key.post("/api/audit/", body, format="json").status_code for body in singles)
    accepted = manager_key.post("/api/audit/batch/", {"reports": batch}, format="json")
    run, _ = scoring_run_start(actor=BEAT, trigger=ScoringRun.Trigger.BEAT, now=timezone.now(), key="it:outage")
    outage_seconds = time.monotonic() - started

    assert statuses == {200: SINGLE_REPORTS}, statuses
    assert accepted.status_code == 202, accepted.content
    assert AuditRecord.objects.count() == SINGLE_REPORTS
    batch_run = AuditRun.objects.get(pk=accepted.json()["id"])
    assert (batch_run.status, batch_run.queued_at) == (AuditRun.Status.PENDING, None), "queued with Redis down?"
    assert ScoringRun.objects.get(pk=run.pk).status == ScoringRun.Status.PENDING
    assert outage_seconds < 30, "requests waited on the dead Redis"

    own_redis.start()  # back, empty: whatever was queued before the outage is gone too
    later = timezone.now() + timedelta(minutes=5)  # the sweeper's next tick after the runs went stale
    assert audit_runs_sweep(now=later) == 1
    assert scoring_runs_sweep(now=later) == 1

    def finished():
        runs = AuditRun.objects.get(pk=batch_run.pk), ScoringRun.objects.get(pk=run.pk)
        return runs if runs[0].status == AuditRun.Status.DONE and runs[1].status == ScoringRun.Status.DONE else None

    worker = SimpleNamespace(log=lambda: worker_log.read_text(errors="replace"))  # for wait_for's report
    done_batch, done_scoring = wait_for(finished, timeout=60, what="both runs to finish", worker=worker)
    assert done_batch.processed == BATCH_REPORTS
    assert AuditRecord.objects.count() == SINGLE_REPORTS + BATCH_REPORTS, "a report was lost"
    assert done_scoring.workers_scored == len(WORKERS)
    assert manager_key.get("/api/workers/").status_code == 200  # the throttle counts in Redis again
    print(
        f"\nfault: Redis stopped: {SINGLE_REPORTS + BATCH_REPORTS} reports sent ({SINGLE_REPORTS} single, "
        f"{BATCH_REPORTS} in a batch), 0 lost, 0 5xx, {outage_seconds:.1f}s; both runs finished after it returned"
    )
