"""The one place where periodic work is declared. Each entry has a management-command twin."""

from datetime import timedelta

BEAT_SCHEDULE: dict[str, dict] = {
    "sweep-audit-runs": {"task": "governance.tasks.sweep_audit_runs", "schedule": timedelta(minutes=1)},
}
