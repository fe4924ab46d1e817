"""Benchmarks: report throughput through the API and a scoring run over a fleet.

    make bench                          # embedded defaults (SQLite)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/aura make bench

Runs against a throwaway test database (created and dropped here), never the live one. Prints progress
and ends with a summary: reports per second, latency percentiles, and the scoring run's time and query count.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aura_project.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402


def progress(label: str, done: int, total: int) -> None:
    width = 30
    filled = int(width * done / total) if total else width
    sys.stdout.write(f"\r{label:<24} [{'#' * filled}{'-' * (width - filled)}] {done}/{total}")
    if done >= total:
        sys.stdout.write("\n")
    sys.stdout.flush()


def bench_reports(n: int, workers: int) -> dict:
    from rest_framework.test import APIClient

    from workforce.models import Role, ServiceKey
    from workforce.services.access import role_group

    _, raw = ServiceKey.objects.create_key(name="bench", role=role_group(Role.MANAGER.value))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    for i in range(workers):
        client.post("/api/workers/", {"model_id": f"bench/w{i}", "capabilities": ["code"]}, format="json")
    latencies = []
    statuses: dict[int, int] = {}
    started = time.perf_counter()
    for i in range(n):
        task_id = f"bench-task-{i}"
        # The system routes each task; violations are rare enough that the fleet never runs dry.
        client.post("/api/tasks/", {"task_id": task_id, "capability": "code", "priority": 2}, format="json")
        client.post(f"/api/tasks/{task_id}/assign/", {}, format="json")
        body = {
            "task_id": task_id,
            "logs": [f"step {k}" for k in range(8)],
            "duration_ms": 1000 + i % 5000,
            "hallucinated": i % 97 == 0,
            "scope_drift": i % 41 == 0,
            "report_id": f"bench-{i}",
            "test_pass_rate": 0.9,
            "manager_satisfaction": 0.8,
            "confidence": 0.7,
            "retries": i % 3,
        }
        t0 = time.perf_counter()
        response = client.post("/api/audit/", body, format="json")
        latencies.append((time.perf_counter() - t0) * 1000)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        if (i + 1) % max(1, n // 50) == 0 or i + 1 == n:
            progress("POST /api/audit/", i + 1, n)
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "reports": n,
        "statuses": statuses,
        "reports_per_s_incl_task_setup": round(n / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 2),
        "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 2),
        "max_ms": round(latencies[-1], 2),
    }


def seed_fleet(fleet: int, reports_each: int) -> None:
    """A large fleet with evidence, written in bulk (no history needed for a benchmark's seed)."""
    from django.utils import timezone

    from governance.models import AuditRecord
    from workforce.models import Task, Worker

    now = timezone.now()
    workers = Worker.objects.bulk_create(
        Worker(model_id=f"fleet/w{i}", capabilities=["code"], budget=1000) for i in range(fleet)
    )
    tasks = Task.objects.bulk_create(Task(task_id=f"fleet-task-{i}", capability="code") for i in range(fleet))
    rows = []
    for i, (worker, task) in enumerate(zip(workers, tasks, strict=True)):
        for k in range(reports_each):
            rows.append(
                AuditRecord(
                    report_id=f"fleet-{i}-{k}",
                    request_hash="-",
                    task=task,
                    worker=worker,
                    duration_ms=1000 * (k + 1),
                    retries=k % 3,
                    test_pass_rate=0.8,
                    manager_satisfaction=0.7,
                    confidence=0.6,
                    outcome=AuditRecord.Outcome.CLEAN,
                    settings_version=1,
                    received_at=now,
                )
            )
        if (i + 1) % max(1, fleet // 20) == 0 or i + 1 == fleet:
            progress("seed fleet", i + 1, fleet)
    AuditRecord.objects.bulk_create(rows, batch_size=2000)


def bench_scoring(fleet: int) -> dict:
    from django.utils import timezone

    from governance.services.scoring_runs import scoring_run_execute, scoring_run_start
    from workforce.models import Worker

    progress("scoring run", 0, 1)
    run, _ = scoring_run_start(trigger="command", now=timezone.now(), key=f"bench-{time.time()}", enqueue=False)
    with CaptureQueriesContext(connection) as queries:
        t0 = time.perf_counter()
        run = scoring_run_execute(run_id=run.pk)
        elapsed = time.perf_counter() - t0
    progress("scoring run", 1, 1)
    return {
        "fleet": Worker.objects.count(),
        "workers_scored": run.workers_scored,
        "seconds": round(elapsed, 3),
        "queries": len(queries),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=500)
    parser.add_argument("--workers", type=int, default=50)
    parser.add_argument("--fleet", type=int, default=1000, help="extra workers seeded for the scoring run")
    parser.add_argument("--reports-each", type=int, default=20)
    args = parser.parse_args()

    setup_test_environment()
    from django.conf import settings

    settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["key"] = "1000000/min"
    old_name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":  # a file, like production's embedded default, not :memory:
        connection.settings_dict.setdefault("TEST", {})["NAME"] = str(settings.DATA_DIR / "bench.sqlite3")
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        print(f"database: {connection.vendor}; {args.reports} reports over {args.workers} workers")
        reports = bench_reports(args.reports, args.workers)
        seed_fleet(args.fleet, args.reports_each)
        scoring = bench_scoring(args.workers + args.fleet)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    print("\nSummary")
    print(f"  audit reports: {reports}")
    print(f"  scoring run:   {scoring}")


if __name__ == "__main__":
    main()
