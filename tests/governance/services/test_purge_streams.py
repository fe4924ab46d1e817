"""The retention purge as beat and the command run it on PostgreSQL: outside any transaction, its chunks are
deleted by several connections side by side, each chunk committing its rows, their history rows and its
PurgeLog counts together. These tests commit for real (transactional_db), as production does.
"""

import threading
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from governance.models import Incident, Penalty, PurgeLog
from governance.services import purge as purge_module
from governance.services.purge import purge_expired
from tests.governance.services.test_purge import assert_kept, assert_purged, hire, record

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DAY = timedelta(days=1)


@pytest.fixture
def now() -> datetime:
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(purge_module, "CHUNK", 2)
    monkeypatch.setattr(purge_module, "STREAMS", 2)


@pytest.fixture
def stream_threads(monkeypatch) -> set[str]:
    """The names of the threads that deleted chunks."""
    names: set[str] = set()
    real = purge_module._delete_chunk_in_stream

    def spy(*args, **kwargs):
        names.add(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(purge_module, "_delete_chunk_in_stream", spy)
    return names


def test_streams_purge_every_expired_record_with_its_history_and_log_each_chunk(now, small_chunks, stream_threads):
    worker = hire("streamed")
    old = [record(worker, now - 400 * DAY) for _ in range(5)]
    young = record(worker, now - 5 * DAY)
    progress = []

    result = purge_expired(now=now, progress=lambda table, done, total: progress.append((table, done, total)))

    connection.check_constraints()
    assert_purged(*old)
    assert_kept(young)
    assert stream_threads and all(name.startswith("purge") for name in stream_threads)
    assert result.counts["governance_auditrecord"] == result.counts["governance_historicalauditrecord"] == 10
    assert result.counts["governance_incident"] == result.counts["governance_historicalincident"] == 5
    log = PurgeLog.objects.get()
    assert log.counts == result.counts and log.finished_at is not None
    # Progress comes in chunk order, from the purge's own thread.
    assert [done for table, done, _ in progress if table == "governance_auditrecord"] == [2, 4, 6, 8, 10]


def test_a_failed_stream_stops_the_purge_and_the_log_counts_exactly_what_the_committed_chunks_deleted(
    now, small_chunks, stream_threads, monkeypatch
):
    worker = hire("stopped")
    for _ in range(5):
        record(worker, now - 400 * DAY)
    real_delete, calls, lock = purge_module._delete_rows, [], threading.Lock()

    def fails_on_the_second_chunk(model, keys):
        with lock:
            calls.append(model)
            second = len(calls) == 2
        if second:
            raise TimeoutError("the worker hit its time limit")
        return real_delete(model, keys)

    monkeypatch.setattr(purge_module, "_delete_rows", fails_on_the_second_chunk)

    with pytest.raises(TimeoutError):
        purge_expired(now=now)

    log = PurgeLog.objects.get()
    assert log.finished_at is None
    gone = 5 - Penalty.objects.count()
    assert 0 < gone < 5  # one chunk (or two) committed, the failed one did not
    assert log.counts == {"governance_penalty": gone, "governance_historicalpenalty": gone}
    assert Penalty.history.model.objects.count() == 5 - gone
    assert Incident.objects.count() == 5  # the tables after the failed one were never started
