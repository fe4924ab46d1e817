"""Writes behind the dashboard: beat's last success per job, and the incident chart's per-day rollup."""

from collections import Counter
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone

from governance.dashboard_selectors import day_start, incident_days
from governance.domain.dashboard import chart_days, last_closed_day
from governance.models import BeatJobRun, IncidentDayCount, PurgeLog
from workforce.domain.actor import Actor


def beat_job_succeeded(*, task: str, now: datetime, actor: Actor) -> BeatJobRun:
    """Note that a beat job finished without error (one row per task, overwritten)."""
    job, _ = BeatJobRun.objects.update_or_create(
        name=task, defaults={"last_success_at": now, "actor_label": actor.label}
    )
    return job


def incident_days_rollup(*, now: datetime) -> int:
    """Count the chart's closed days that have no counts yet; returns how many days it counted. Writes nothing
    when every closed day is counted (the dashboard calls it on each view).

    1. Counts computed before a purge that could reach the chart's window are dropped: the purge may have
       deleted incidents they include (an early purge names no cutoff; a retention purge's cutoff says how far).
    2. The missing closed days are counted in one grouped read over their range, and written with the day's
       total (the row with no violation type), so a day without incidents is counted once too. Counts older
       than the window go at the same time. Two dashboards rolling up at once write the same rows; the second
       one's are ignored."""
    local_now = timezone.localtime(now)
    days = chart_days(today=local_now.date())
    window_start = day_start(days[0])
    counted = IncidentDayCount.objects.filter(day__gte=days[0], violation_type="")
    stale = False
    oldest = counted.aggregate(at=Min("computed_at"))["at"]
    if oldest is not None:
        stale = (
            PurgeLog.objects.filter(dry_run=False)
            .filter(Q(started_at__gte=oldest) | Q(finished_at__gte=oldest))
            .filter(Q(cutoff__isnull=True) | Q(cutoff__gt=window_start))
            .exists()
        )
    last = last_closed_day(now_local=local_now)
    have = set() if stale else set(counted.values_list("day", flat=True))
    missing = [day for day in days if day <= last and day not in have]
    if not missing:
        return 0
    counts = incident_days(start=day_start(missing[0]), end=day_start(missing[-1] + timedelta(days=1)))
    with transaction.atomic():
        if stale:
            IncidentDayCount.objects.filter(day__gte=days[0]).delete()
        IncidentDayCount.objects.filter(day__lt=days[0]).delete()
        IncidentDayCount.objects.bulk_create(
            [
                IncidentDayCount(day=day, violation_type=vtype, incidents=n, computed_at=now)
                for day in missing
                for vtype, n in (counts.get(day) or Counter({"": 0})).items()
            ],
            ignore_conflicts=True,
        )
    return len(missing)
