"""The history latency.anomaly judges a report against: the worker's own recent durations for the capability and the
fleet's, newest first and bounded, without provider faults, reports lacking a duration, or other capabilities."""

from datetime import timedelta
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from governance.domain.detectors.latency import FLEET_HISTORY_HOURS, WORKER_HISTORY_DAYS, latency_anomaly
from governance.models import AuditRecord
from governance.selectors import config_cache_clear, settings_current
from governance.selectors_latency import latency_history
from workforce.models import Task, Worker

pytestmark = pytest.mark.django_db
_n = count()


@pytest.fixture
def now():
    return timezone.now()


def hire(model_id: str) -> Worker:
    return Worker.objects.create(model_id=model_id, capabilities=["code", "translate"])


def report(worker: Worker, at, duration_ms: int, *, capability="code", retries=None, outcome="clean") -> AuditRecord:
    i = next(_n)
    task = Task.objects.create(task_id=f"latency-{i}", capability=capability)
    return AuditRecord.objects.create(
        report_id=f"latency-{i}",
        request_hash="0" * 64,
        task=task,
        worker=worker,
        duration_ms=duration_ms,
        retries=retries,
        outcome=outcome,
        settings_version=settings_current().version,
        received_at=at,
    )


def test_the_workers_and_the_fleets_durations_for_the_capability_newest_first(now):
    fast, slow = hire("latency/fast"), hire("latency/slow")
    for i in range(3):
        report(fast, now - timedelta(minutes=10 - i), 5000 + i, retries=i)
        report(slow, now - timedelta(minutes=20 - i), 50_000 + i)
    report(fast, now - timedelta(minutes=1), 9999, capability="translate")  # another capability
    report(fast, now - timedelta(minutes=2), 0)  # no duration given
    report(fast, now - timedelta(minutes=3), 60_000, outcome="provider_fault")  # the provider's, not the worker's
    report(fast, now - timedelta(days=WORKER_HISTORY_DAYS, minutes=1), 7777)  # too old

    history = latency_history(worker=fast, capability="code", now=now)

    assert history.worker == [5002, 5001, 5000] and history.worker_retries == [2, 1, 0]
    assert history.fleet == [5002, 5001, 5000, 50_002, 50_001, 50_000]
    assert history.fleet_retries == [2, 1, 0, None, None, None]


def test_the_fleets_history_is_a_recent_window_and_the_report_judged_can_be_left_out(now):
    worker = hire("latency/w")
    report(worker, now - timedelta(hours=FLEET_HISTORY_HOURS, minutes=1), 4000)
    judged = report(worker, now, 40_000)
    history = latency_history(worker=worker, capability="code", now=now, exclude_record=judged.pk)
    assert history.worker == [4000]  # the worker's own window is longer
    assert history.fleet == [40_000]  # the fleet's is the last day


def test_the_reads_are_bounded_by_the_limit(now):
    worker = hire("latency/busy")
    for i in range(30):
        report(worker, now - timedelta(minutes=i), 5000 + i)
    history = latency_history(worker=worker, capability="code", now=now, limit=10)
    assert history.worker == [5000 + i for i in range(10)]
    assert len(history.fleet) == 10


def test_the_fleets_history_is_read_once_a_minute_per_capability(now):
    worker = hire("latency/cached")
    report(worker, now - timedelta(minutes=1), 5000)
    with CaptureQueriesContext(connection) as first:
        latency_history(worker=worker, capability="code", now=now)
    report(worker, now, 6000)
    with CaptureQueriesContext(connection) as second:
        cached = latency_history(worker=worker, capability="code", now=now)
    assert len(second) == len(first) - 1  # the worker's own read only
    assert cached.worker == [6000, 5000] and cached.fleet == [5000]  # the fleet's, as read a moment ago
    cached.fleet.append(1)  # a caller's copy: the cache is not touched
    assert latency_history(worker=worker, capability="code", now=now).fleet == [5000]
    config_cache_clear()  # a new settings version, or a minute, reads it again
    assert latency_history(worker=worker, capability="code", now=now).fleet == [6000, 5000]


def test_forty_seconds_is_an_anomaly_for_a_five_second_worker_and_not_for_a_fifty_second_one(now):
    fast, slow = hire("latency/five"), hire("latency/fifty")
    for i in range(25):
        report(fast, now - timedelta(minutes=i + 1), 4500 + 40 * i)
        report(slow, now - timedelta(minutes=i + 1), 45_000 + 400 * i, capability="translate")
    for worker, capability, expected in ((fast, "code", True), (slow, "translate", False)):
        h = latency_history(worker=worker, capability=capability, now=now)
        found = latency_anomaly(40_000, None, worker_history=h.worker, fleet_history=h.fleet, config=None)
        assert (found is not None) is expected
