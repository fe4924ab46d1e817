"""The durations latency.anomaly judges a report against: the worker's own and the fleet's, for one capability.

Both reads are bounded: the newest HISTORY_LIMIT reports within a recent window, provider faults and reports
without a duration left out (neither says how long the work takes).

- The worker's: its reports on the (worker, received_at) index, read backwards, the task joined for its
  capability; at most the worker's last WORKER_HISTORY_DAYS.
- The fleet's: every worker's reports for the capability, on the received_at index read backwards with the task
  joined, within the last FLEET_HISTORY_HOURS. A rare capability can make that a day's range, so the result is
  kept in this process for FLEET_CACHE_SECONDS per capability: a busy fleet pays for it once a minute, not once
  a report. It lives in governance.selectors' process cache, which each new settings version and each test clear.
"""

import time
from datetime import datetime, timedelta

from django.utils import timezone

from governance.domain.detectors.latency import (
    FLEET_HISTORY_HOURS,
    HISTORY_LIMIT,
    WORKER_HISTORY_DAYS,
    LatencyHistory,
)
from governance.models import AuditRecord
from governance.selectors import _config_cache
from workforce.models import Worker

FLEET_CACHE_SECONDS = 60


def _timed(qs, *, since: datetime, limit: int, exclude_record: int | None) -> tuple[list[int], list[int | None]]:
    qs = qs.filter(received_at__gte=since, duration_ms__gt=0).exclude(outcome=AuditRecord.Outcome.PROVIDER_FAULT)
    if exclude_record is not None:
        qs = qs.exclude(pk=exclude_record)
    rows = list(qs.order_by("-received_at", "-id").values_list("duration_ms", "retries")[:limit])
    return [d for d, _ in rows], [r for _, r in rows]


def latency_history(
    *,
    worker: Worker | int,
    capability: str,
    now: datetime | None = None,
    limit: int = HISTORY_LIMIT,
    exclude_record: int | None = None,
) -> LatencyHistory:
    """The recent durations of `worker` and of the fleet for tasks of `capability` (two bounded reads, the
    fleet's served from the process cache for a minute). `exclude_record` leaves out the report being judged,
    when it is already saved."""
    now = now or timezone.now()
    worker_pk = worker.pk if isinstance(worker, Worker) else worker
    own, own_retries = _timed(
        AuditRecord.objects.filter(worker_id=worker_pk, task__capability=capability),
        since=now - timedelta(days=WORKER_HISTORY_DAYS),
        limit=limit,
        exclude_record=exclude_record,
    )
    key = f"latency:fleet:{capability}:{limit}"
    cached = _config_cache.get(key)
    if cached is not None and cached[0] > time.monotonic():
        fleet, fleet_retries = cached[1]
    else:
        # The report being judged may be in it: one point among up to HISTORY_LIMIT barely moves a median.
        fleet, fleet_retries = _timed(
            AuditRecord.objects.filter(task__capability=capability),
            since=now - timedelta(hours=FLEET_HISTORY_HOURS),
            limit=limit,
            exclude_record=None,
        )
        _config_cache[key] = (time.monotonic() + FLEET_CACHE_SECONDS, (fleet, fleet_retries))
    # Copies: the cached lists are shared by every report of the minute.
    return LatencyHistory(worker=own, worker_retries=own_retries, fleet=list(fleet), fleet_retries=list(fleet_retries))
