"""Time's own work: cooldowns and suspensions that end, seniors' sanctions nobody answered in time, and workers
that went silent on a task."""

import logging
from datetime import datetime, timedelta

from django.db import DatabaseError, transaction
from django.db.models import Q

from aura_project.errors import DomainError
from aura_project.history import acting
from governance.models import DisciplinaryAction
from governance.selectors import settings_current
from governance.services.discipline import actions_apply
from governance.services.reports import ReportInput, report_submit
from governance.services.review import escalations_apply_due
from workforce.domain.lifecycle import timer_expired
from workforce.models import Assignment, Worker
from workforce.selectors import worker_state
from workforce.services.access import actor_require
from workforce.services.events import Outbox
from workforce.services.workers import worker_lock

log = logging.getLogger(__name__)

# AuditRecord.duration_ms is a 32-bit integer on PostgreSQL: an attempt silent for more than ~24.8 days
# would overflow it. Any wait that long is far past every timeout, so the clamp changes no verdict.
DURATION_MS_MAX = 2_147_483_647


def timers_expire(*, now: datetime, actor) -> int:
    """Apply every senior's escalated sanction whose time has run out unanswered (governance.services.review), then
    end every cooldown and suspension whose time has come; each end is a REINSTATE with reason "expired".
    Returns how many sanctions applied themselves and how many timers ended."""
    actor = actor_require(actor, "discipline")
    escalated = escalations_apply_due(now=now, actor=actor)
    settings = settings_current()
    due = Worker.objects.filter(
        Q(status=Worker.Status.COOLDOWN, cooldown_until__lte=now)
        | Q(status=Worker.Status.SUSPENDED, suspended_until__lte=now)
    )
    ended = 0
    for pk in sorted(set(due.values_list("pk", flat=True))):
        with acting(actor), transaction.atomic():
            worker = worker_lock(pk=pk)
            if not timer_expired(worker_state(worker), now):
                continue  # changed since the query: someone else ended it, or it was extended
            outbox = Outbox(now)
            actions_apply(
                worker=worker,
                actions=["REINSTATE"],
                reasons={"REINSTATE": "expired"},
                actor_kind=DisciplinaryAction.Actor.SYSTEM,
                actor=actor,
                settings=settings,
                now=now,
                outbox=outbox,
            )
            outbox.flush()
            ended += 1
    return escalated + ended


def silent_workers_sweep(*, now: datetime, actor) -> int:
    """An attempt with no report within the silence timeout is reported, by us, as a timeout: the same
    Auditor/HR path as any report, so the worker is disciplined and the task reassigned. The report id is
    the attempt's, so a second sweep never reports the same silence twice.

    Each attempt stands alone: report_submit runs its own transaction, so one that fails (a database error,
    a refused report) is logged and the sweep goes on. Attempts go oldest first, and a failure that stopped
    the sweep would stop every later sweep at the same attempt.

    A worker silent on several tasks is sanctioned once per silence: the tasks were all in flight when the
    first one's sanction was issued, so the others are the same step (governance.domain.ladder.in_flight)."""
    actor = actor_require(actor, "report")
    settings = settings_current()
    timeout = timedelta(minutes=settings.silent_timeout_minutes)
    silent = Assignment.objects.filter(
        ended_at__isnull=True, reported_at__isnull=True, started_at__lte=now - timeout
    ).select_related("task", "worker")
    caught = 0
    for attempt in silent.order_by("started_at", "pk"):
        waited_ms = min(int((now - attempt.started_at).total_seconds() * 1000), DURATION_MS_MAX)
        report = ReportInput(
            task_id=attempt.task.task_id,
            model_id=attempt.worker.model_id,
            duration_ms=waited_ms,
            logs=[f"silent: no report {settings.silent_timeout_minutes} minutes after assignment"],
            error_kind="silent",
        )
        try:
            outcome = report_submit(report=report, report_id=f"silent:{attempt.pk}", now=now, actor=actor)
        except DomainError as exc:
            log.warning("silent attempt %s not reported: %s", attempt.pk, exc.message)
            continue
        except DatabaseError:
            log.exception("silent attempt %s not reported: database error; the next sweep tries again", attempt.pk)
            continue
        caught += 0 if outcome.replayed else 1
    return caught
