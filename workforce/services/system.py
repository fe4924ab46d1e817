"""The Director's emergency halt and resume of the whole fleet.

A halt is one row (workforce.models.SystemMode) that every assignment reads. While it stands, routing offers
nobody, assignments asked for are refused (SystemHalted, a 409 naming who, since when and why), and the
automation's repairs leave their tasks waiting; reports, incidents, actions and reputations are recorded as usual.

The resume routes again, by the automation's own assignment, the tasks that went waiting during the halt (status
WAITING, changed since the halt began), one short transaction each, right after the resume commits. Tasks that
waited before the halt (nobody was eligible) and tasks registered without a worker are left to the Manager and
the Director, as before. If the process dies before that routing, the tasks stay waiting and in the Director's
queue, and the Manager, told by the `system.resumed` event, may assign them: nothing is lost.
"""

import logging
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from aura_project.errors import Conflict, DomainError
from aura_project.history import acting, follow_up
from workforce.domain.actor import USER, Actor
from workforce.domain.system import Mode, mode_change_problem
from workforce.models import SystemMode, Task
from workforce.selectors import system_mode
from workforce.services.access import actor_require
from workforce.services.events import Outbox
from workforce.services.tasks import task_assign

log = logging.getLogger(__name__)


def system_halt(*, reason: str, actor, now: datetime) -> Mode:
    """Halt the fleet: nobody is routed or assigned until the Director resumes. Refused if already halted."""
    return _mode_change(halt=True, reason=reason, actor=actor, now=now)


def system_resume(*, reason: str, actor, now: datetime) -> Mode:
    """End the halt; the tasks that went waiting during it are routed again once this commits."""
    return _mode_change(halt=False, reason=reason, actor=actor, now=now)


def _mode_change(*, halt: bool, reason: str, actor, now: datetime) -> Mode:
    actor = actor_require(actor, "halt", message="only the Director may halt or resume the system")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("the Director must give a reason", field="reason")
    try:
        with acting(actor):
            with transaction.atomic():
                row = _locked_row()
                before = system_mode()
                if problem := mode_change_problem(before, halt=halt):
                    raise Conflict(problem, field="mode")
                row.mode = SystemMode.Mode.HALTED if halt else SystemMode.Mode.NORMAL
                row.reason, row.actor_label, row.changed_at = reason[:500], actor.label, now
                row.changed_by = _user(actor)
                row._change_reason = f"{row.mode} by {actor.label}: {reason}"[:100]
                row.save()
                outbox = Outbox(now)
                if halt:
                    outbox.add("system.halted", by=actor.label, reason=reason, since=now.isoformat())
                else:
                    waiting = _waiting_since(before.since).count()
                    outbox.add(
                        "system.resumed",
                        by=actor.label,
                        reason=reason,
                        halted_since=before.since.isoformat() if before.since else None,
                        halted_by=before.by,
                        halt_reason=before.reason,
                        rerouting=waiting,
                    )
                outbox.flush()
            if not halt:
                since = before.since
                # After the commit, when this service call (or the one around it) ends.
                follow_up(lambda: waiting_tasks_reroute(since=since, now=now, actor=actor))
    except IntegrityError:  # two first halts at once: the row's primary key decided who was first
        raise Conflict(f"already halted: {system_mode().describe()}", field="mode") from None
    return system_mode()


def _locked_row() -> SystemMode:
    """The row, locked; a new one (inserted by the save) before the first halt."""
    row = SystemMode.objects.select_for_update().filter(pk=SystemMode.SINGLETON).first()
    return row if row is not None else SystemMode(pk=SystemMode.SINGLETON)


def _user(actor: Actor):
    if actor.kind != USER or actor.user_id is None:
        return None
    return get_user_model().objects.filter(pk=actor.user_id).first()


def _waiting_since(since: datetime | None):
    qs = Task.objects.filter(status=Task.Status.WAITING, current_worker__isnull=True)
    return qs.filter(updated_at__gte=since) if since is not None else qs.none()


def waiting_tasks_reroute(*, since: datetime | None, now: datetime, actor) -> int:
    """Route again the tasks that went waiting during the halt that began at `since`, each in its own short
    transaction, by the automation's assignment. Returns how many found a worker."""
    moved = 0
    pks = list(_waiting_since(since).order_by("-priority", "created_at").values_list("pk", flat=True))
    with acting(actor):
        for pk in pks:
            try:
                moved += _reroute_one(pk, now=now)
            except Exception:  # one task's failure must not strand the others; it stays waiting, visibly
                log.exception("re-routing task %s after the resume failed; it stays waiting", pk)
    return moved


def _reroute_one(pk: int, *, now: datetime) -> int:
    with transaction.atomic():
        task = Task.objects.select_for_update(no_key=True).filter(pk=pk).first()
        if task is None or task.status != Task.Status.WAITING or task.current_worker_id is not None:
            return 0  # someone assigned it meanwhile
        if system_mode().halted:
            return 0  # halted again: it waits for the next resume
        outbox = Outbox(now)
        worker = task_assign(task=task, now=now, outbox=outbox, reason="routed again after the halt", locked=True)
        outbox.flush()
    return 1 if worker is not None else 0
