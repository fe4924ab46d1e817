"""Celery tasks: thin wrappers that take ids and call a service. Queued only after the transaction commits."""

from celery import shared_task
from django.db import DatabaseError, InterfaceError
from django.utils import timezone

from governance.services.audit_runs import audit_run_process, audit_runs_sweep
from workforce.domain.actor import BEAT, OVERSIGHT, SWEEPER, TIMERS

# Transient failures worth retrying; anything else is a bug and should show up as a failure.
TRANSIENT = (DatabaseError, InterfaceError, ConnectionError, TimeoutError)

# Every task sets both limits. A task that sets only time_limit inherits the global soft limit
# (CELERY_TASK_SOFT_TIME_LIMIT, 540 s): below it Celery refuses the task in apply_async, so beat never sent it;
# above it the soft limit would stop a long run at 540 s anyway. The soft limit leaves the task time to roll back.


def _succeeded(task) -> None:
    """Note a beat job's success for the dashboard, where a job not heard from in two intervals shows stalled."""
    from governance.services.dashboard import beat_job_succeeded

    beat_job_succeeded(task=task.name, now=timezone.now(), actor=BEAT)


# A batch run and each of its parts.
AUDIT_RUN_TASK = {
    "bind": True,
    "acks_late": True,
    "autoretry_for": TRANSIENT,
    "retry_backoff": True,
    "max_retries": 5,
    "soft_time_limit": 540,
    "time_limit": 600,
}


@shared_task(**AUDIT_RUN_TASK)
def process_audit_run(self, run_id: str) -> str:
    queue = (self.request.delivery_info or {}).get("routing_key")  # its parts follow it to the same queue
    return audit_run_process(run_id=run_id, queue=queue).status


@shared_task(**AUDIT_RUN_TASK)
def process_audit_run_part(self, run_id: str, positions: list[int]) -> str:
    """One part of a large batch run, split by worker (see audit_run_process)."""
    return audit_run_process(run_id=run_id, positions=positions).status


@shared_task(
    acks_late=True, autoretry_for=TRANSIENT, retry_backoff=True, max_retries=3, soft_time_limit=100, time_limit=120
)
def sweep_pending_runs() -> dict:
    """Queue again the audit and scoring runs that waited too long for the broker; run handovers left pending."""
    from governance.services.scoring_runs import scoring_runs_sweep
    from workforce.services.handover import handovers_sweep

    now = timezone.now()
    swept = {
        "audit_runs": audit_runs_sweep(now=now),
        "scoring_runs": scoring_runs_sweep(now=now),
        "handovers": handovers_sweep(now=now),
    }
    _succeeded(sweep_pending_runs)
    return swept


@shared_task(
    acks_late=True, autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5, soft_time_limit=1740, time_limit=1800
)
def process_scoring_run(run_id: int) -> str:
    from governance.services.scoring_runs import scoring_run_execute

    return scoring_run_execute(run_id=run_id).status


@shared_task(
    acks_late=True, autoretry_for=TRANSIENT, retry_backoff=True, max_retries=3, soft_time_limit=100, time_limit=120
)
def start_scoring_run() -> int:
    """Beat's hourly tick. The key is the hour, so a tick delivered twice is one run."""
    from governance.services.scoring_runs import scoring_run_start

    now = timezone.now()
    run, _ = scoring_run_start(trigger="beat", now=now, key=f"beat:{now:%Y-%m-%dT%H}", actor=BEAT)
    _succeeded(start_scoring_run)
    return run.pk


@shared_task(
    acks_late=True, autoretry_for=TRANSIENT, retry_backoff=True, max_retries=3, soft_time_limit=270, time_limit=300
)
def run_timers() -> dict:
    """Beat's minute: timers that end, silent workers, and the detectors overturned too often (the oversight)."""
    from governance.services.oversight import detectors_oversee
    from governance.services.timers import silent_workers_sweep, timers_expire

    now = timezone.now()
    done = {"expired": timers_expire(now=now, actor=TIMERS), "silent": silent_workers_sweep(now=now, actor=SWEEPER)}
    done["auto_observed"] = [s.detector for s in detectors_oversee(now=now, actor=OVERSIGHT)]
    _succeeded(run_timers)
    return done


@shared_task(
    acks_late=True, autoretry_for=TRANSIENT, retry_backoff=True, max_retries=3, soft_time_limit=3540, time_limit=3600
)
def purge_expired() -> dict:
    """Beat's daily retention purge."""
    from governance.models import PurgeLog
    from governance.services.purge import purge_expired as purge

    counts = purge(now=timezone.now(), actor_kind=PurgeLog.Actor.BEAT).counts
    _succeeded(purge_expired)
    return counts


@shared_task(
    acks_late=True, autoretry_for=TRANSIENT, retry_backoff=True, max_retries=3, soft_time_limit=270, time_limit=300
)
def roll_up_incident_days() -> int:
    """Beat's nightly count of the days the dashboard's incident chart has not stored yet (else a view counts them)."""
    from governance.services.dashboard import incident_days_rollup

    days = incident_days_rollup(now=timezone.now())
    _succeeded(roll_up_incident_days)
    return days
