"""Run leases: how the sweeper tells a run whose Celery worker died from one that is still going.

A RUNNING run (scoring or batch) holds a lease, `lease_until`, which the process executing it renews as it goes.
A worker killed mid-run renews nothing, so its lease passes, and the sweeper (every minute) queues the run
again. Redis would redeliver the unacknowledged message only after its visibility timeout (an hour), which
has to outlast the longest task and so cannot be what recovers a run. A run executed twice is harmless: a
scoring run scores each worker once (scores are keyed by run and re-checked under the row lock), a batch
run records each report once (each has a stable report id).
"""

import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Model, Q
from django.utils import timezone


def lease_length() -> timedelta:
    return timedelta(seconds=settings.AURA_RUN_LEASE_SECONDS)


def lease_expired(*, now: datetime) -> Q:
    """RUNNING runs whose lease has passed; a run started before leases existed has none, and counts as
    expired once it has been running a lease's length."""
    return Q(lease_until__lt=now) | Q(lease_until__isnull=True, started_at__lt=now - lease_length())


class Heartbeat:
    """Renews one run's lease: at once on start, then whenever a third of the lease has gone by since the last
    renewal, so a run renews a few times a minute however many chunks or reports it goes through."""

    def __init__(self, model: type[Model], pk) -> None:
        self.model, self.pk = model, pk
        self.renewed = float("-inf")

    def beat(self) -> None:
        if time.monotonic() - self.renewed < settings.AURA_RUN_LEASE_SECONDS / 3:
            return
        self.model.objects.filter(pk=self.pk).update(lease_until=timezone.now() + lease_length())
        self.renewed = time.monotonic()
