"""The one place where periodic work is declared. Each entry has a management-command twin:
score_workers, run_timers, purge_expired, sweep_pending_runs and roll_up_incident_days."""

from datetime import timedelta

from celery.schedules import crontab

BEAT_SCHEDULE: dict[str, dict] = {
    "score-workers-hourly": {"task": "governance.tasks.start_scoring_run", "schedule": crontab(minute=5)},
    "run-timers": {"task": "governance.tasks.run_timers", "schedule": timedelta(minutes=1)},
    "sweep-pending-runs": {"task": "governance.tasks.sweep_pending_runs", "schedule": timedelta(minutes=1)},
    "purge-expired-daily": {"task": "governance.tasks.purge_expired", "schedule": crontab(hour=3, minute=17)},
    # The dashboard's incident chart: yesterday's counts stored once (a day closes an hour after midnight), so no
    # page view has to count a whole day.
    "roll-up-incident-days": {"task": "governance.tasks.roll_up_incident_days", "schedule": crontab(hour=1, minute=7)},
}
