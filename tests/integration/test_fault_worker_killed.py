"""A Celery worker killed mid-run (issue 9): SIGKILL to the whole worker, its process group (the prefork parent and
its child), after the scoring run's first chunk has committed. Redis would redeliver the unacknowledged
message only after its visibility timeout (over an hour); the run's lease passes within seconds instead, the
sweeper queues the run again, a new worker finishes it, and no worker is scored twice."""

import itertools
import os
import signal
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from governance.models import AuditRecord, ScoreRecord, ScoringRun
from governance.services.scoring_runs import CHUNK, scoring_run_start, scoring_runs_sweep
from workforce.domain.actor import BEAT
from workforce.models import Task, Worker

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
FLEET = 4 * CHUNK  # four chunks: the kill lands after the first has committed and before the last
LEASE_SECONDS = 10  # the killed worker's lease, so the test waits seconds rather than a minute


class GroupWorker:
    """`celery worker` with a prefork pool, in a process group of its own so that it can be killed whole."""

    def __init__(self, queue: str, log_path: Path) -> None:
        db = connection.settings_dict  # the test database
        credentials = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
        self.env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{credentials}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "AURA_RUN_LEASE_SECONDS": str(LEASE_SECONDS),
            "PYTHONPATH": str(ROOT),
        }
        self.env.pop("AURA_TEST_DB_NAME", None)
        self.queue, self.log_path, self.process = queue, log_path, None

    def start(self) -> None:
        command = [
            sys.executable, "-m", "celery", "-A", "aura_project", "worker", "--pool", "prefork", "--concurrency", "1",
            "--queues", self.queue, "--loglevel", "INFO", "--without-heartbeat", "--without-gossip",
            "--without-mingle", "--hostname", f"{self.queue}-{os.getpid()}-{id(self)}@%h",
        ]  # fmt: skip
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)  # the parent and its pool's child, no warm shutdown
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def workers(private_queue):
    """Start GroupWorkers on this test's queue; every one is stopped before the database is flushed."""
    started: list[GroupWorker] = []
    with tempfile.TemporaryDirectory() as tmp:

        def start() -> GroupWorker:
            worker = GroupWorker(private_queue, Path(tmp) / "workers.log")
            worker.start()
            started.append(worker)
            return worker

        try:
            yield start
        finally:
            for worker in started:
                worker.stop()


def _seed_fleet(at) -> list[int]:
    """FLEET workers, each with one clean report, written in bulk."""
    fleet = Worker.objects.bulk_create(Worker(model_id=f"kill/w{i}", capabilities=["code"]) for i in range(FLEET))
    tasks = Task.objects.bulk_create(Task(task_id=f"kill/t{i}", capability="code") for i in range(FLEET))
    serial = itertools.count()
    AuditRecord.objects.bulk_create(
        AuditRecord(
            report_id=f"kill-{(n := next(serial))}", request_hash=f"{n:064d}", task=task, worker=worker,
            settings_version=1, received_at=at, outcome=AuditRecord.Outcome.CLEAN, duration_ms=24_000, retries=0,
            test_pass_rate=0.6, manager_satisfaction=0.6, confidence=0.6,
        )
        for worker, task in zip(fleet, tasks, strict=True)
    )  # fmt: skip
    return [worker.pk for worker in fleet]


def test_a_scoring_run_whose_worker_is_killed_mid_run_completes_through_the_sweeper_scoring_each_worker_once(
    workers, wait_for
):
    now = timezone.now()
    fleet = _seed_fleet(now - timedelta(hours=1))
    first = workers()
    run, _ = scoring_run_start(actor=BEAT, trigger=ScoringRun.Trigger.BEAT, now=now, key="it:kill:1")
    scores = ScoreRecord.objects.filter(run_key="run:it:kill:1")

    wait_for(lambda: scores.exists(), timeout=60, what="the run's first chunk", worker=first)
    first.kill()
    killed = ScoringRun.objects.get(pk=run.pk)
    scored_before_the_kill = scores.count()
    assert killed.status == ScoringRun.Status.RUNNING, "the run finished before the kill: raise FLEET"
    assert 0 < scored_before_the_kill < FLEET
    assert killed.lease_until is not None

    second = workers()
    # Nothing happens until the lease passes: the sweeper cannot tell a dead worker from a slow one before then.
    if timezone.now() < killed.lease_until - timedelta(seconds=1):
        assert scoring_runs_sweep(now=timezone.now()) == 0
    wait_for(lambda: timezone.now() > killed.lease_until, timeout=LEASE_SECONDS + 5, what="the lease to pass")
    assert scoring_runs_sweep(now=timezone.now()) == 1
    done = wait_for(
        lambda: ScoringRun.objects.filter(pk=run.pk, status=ScoringRun.Status.DONE).first(),
        timeout=60,
        what="the new worker to finish the swept run",
        worker=second,
    )

    assert done.workers_scored == FLEET and done.error == "" and done.lease_until is None
    assert scores.count() == FLEET
    assert scores.values("worker_id").distinct().count() == FLEET, "a worker was scored twice"
    assert set(Worker.objects.filter(pk__in=fleet).values_list("scored_runs", flat=True)) == {1}
    assert ScoreRecord.history.model.objects.filter(run_key="run:it:kill:1").count() == FLEET
    print(f"\nfault: worker SIGKILLed at {scored_before_the_kill}/{FLEET} workers scored; run resumed, 0 doubled")
