"""Celery tasks: thin wrappers that take ids and call a service. Queued only after the transaction commits."""

from celery import shared_task
from django.db import DatabaseError, InterfaceError
from django.utils import timezone

from governance.services.audit_runs import audit_run_process, audit_runs_sweep

# Transient failures worth retrying; anything else is a bug and should show up as a failure.
TRANSIENT = (DatabaseError, InterfaceError, ConnectionError, TimeoutError)


@shared_task(
    bind=True, acks_late=True, autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5,
    soft_time_limit=540, time_limit=600,
)
def process_audit_run(self, run_id: str) -> str:
    return audit_run_process(run_id=run_id).status


@shared_task(acks_late=True, autoretry_for=TRANSIENT, retry_backoff=True, max_retries=3, time_limit=120)
def sweep_audit_runs() -> int:
    return audit_runs_sweep(now=timezone.now())
