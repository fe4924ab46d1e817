"""Retention purge and the Director's early purge.

Design note. The disciplinary record is kept for `retention_days` (365 by default) and then deleted, on
beat's daily tick or by `manage.py purge_expired`. What goes: reports (AuditRecord), incidents, disciplinary
actions, scores, penalties and Manager events older than the cutoff, and the Historical* rows of every one
of them, or the purged data would live on in its history. What stays:
- everything under an open Hold (an appeal or a Director's hold), on the worker or the incident;
- anything a kept record still points at: an incident whose report, action or penalty is kept, and an
  action whose OVERTURN is kept. Such records go on a later run, when what points at them has gone.
A lifted hold goes with the incident it covered: it names nothing once the incident has gone.
Evidence tables refuse DELETE unless the transaction holds a purge permit (see services/permits.py).
Deletes run in chunks of CHUNK rows, children before parents, one short transaction per chunk, so reports
keep flowing while a large purge runs. The cutoff is computed once, and every purge writes a PurgeLog.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from aura_project.errors import DomainError
from governance.models import (
    AuditRecord,
    DisciplinaryAction,
    Hold,
    Incident,
    Penalty,
    PurgeLog,
    ScoreRecord,
)
from governance.selectors import settings_current
from governance.services.permits import purge_permit
from workforce.models import Event
from workforce.services.access import is_director

CHUNK = 500
Progress = Callable[[str, int, int], None]


@dataclass
class PurgeResult:
    log: PurgeLog
    counts: dict[str, int] = field(default_factory=dict)


def _open_holds() -> tuple[set[int], set]:
    holds = Hold.objects.filter(lifted_at__isnull=True)
    return (
        set(holds.exclude(worker=None).values_list("worker_id", flat=True)),
        set(holds.exclude(incident=None).values_list("incident_id", flat=True)),
    )


def _kept_children_of_incidents(model: type[Model], expired: QuerySet) -> QuerySet:
    """The incident ids that a row of `model` staying after this purge still points at."""
    return model.objects.filter(incident__isnull=False).exclude(pk__in=expired.values("pk")).values("incident_id")


def _expired_querysets(cutoff: datetime) -> list[tuple[type[Model], QuerySet]]:
    """Children first: what points at an incident or an action goes before it."""
    workers, incidents = _open_holds()
    held = Q(worker_id__in=workers) | Q(incident_id__in=incidents)
    penalties = Penalty.objects.filter(created_at__lt=cutoff).exclude(held)
    actions = (
        DisciplinaryAction.objects.filter(created_at__lt=cutoff)
        .exclude(held)
        # An action whose overturn is kept stays with it; the overturn (a later row) goes first.
        .exclude(overturned_by__created_at__gte=cutoff)
        .exclude(overturned_by__worker_id__in=workers)
    )
    reports = AuditRecord.objects.filter(received_at__lt=cutoff).exclude(held)
    return [
        (Penalty, penalties),
        (DisciplinaryAction, actions),
        (ScoreRecord, ScoreRecord.objects.filter(created_at__lt=cutoff).exclude(worker_id__in=workers)),
        (AuditRecord, reports),
        (
            Incident,
            # An incident goes when none of its children stays. Asked of the children this purge keeps (rather
            # than of those left in the table), so a dry run, which deletes none, counts the incidents too.
            Incident.objects.filter(reported_at__lt=cutoff)
            .exclude(worker_id__in=workers)
            .exclude(pk__in=incidents)
            .exclude(pk__in=_kept_children_of_incidents(Penalty, penalties))
            .exclude(pk__in=_kept_children_of_incidents(DisciplinaryAction, actions))
            .exclude(pk__in=_kept_children_of_incidents(AuditRecord, reports)),
        ),
        (Event, Event.objects.filter(created_at__lt=cutoff)),
    ]


def _history_model(model: type[Model]) -> type[Model] | None:
    history = getattr(model, "history", None)
    return history.model if history is not None else None


def _delete_rows(model: type[Model], ids: list) -> dict[str, int]:
    """Delete rows and their history rows. Raw deletes: the ORM's collector would refuse PROTECTed links
    that this same purge is removing. The caller holds the transaction and the purge permit."""
    counts = {}
    if model is Incident:
        # Hold.incident is PROTECT: a lifted hold left behind would make the commit fail. An open hold is not
        # touched, so an incident held since it was chosen makes the chunk fail rather than vanish.
        lifted = Hold.objects.filter(incident_id__in=ids, lifted_at__isnull=False)
        if n := lifted._raw_delete(lifted.db):
            counts[Hold._meta.db_table] = n
    rows = model.objects.filter(pk__in=ids)
    counts[model._meta.db_table] = rows._raw_delete(rows.db)
    history_model = _history_model(model)
    if history_model is not None:
        history = history_model.objects.filter(**{f"{model._meta.pk.attname}__in": ids})
        counts[history_model._meta.db_table] = history._raw_delete(history.db)
    return counts


def _add(total: dict[str, int], more: dict[str, int]) -> None:
    for table, n in more.items():
        total[table] = total.get(table, 0) + n


def purge_expired(
    *,
    now: datetime,
    actor_kind: str = PurgeLog.Actor.BEAT,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> PurgeResult:
    """The retention purge. Skipped (and logged) when retention is switched off (0 days)."""
    settings = settings_current()
    log = PurgeLog(actor_kind=actor_kind, started_at=now, dry_run=dry_run, retention_days=settings.retention_days)
    counts: dict[str, int] = {}
    if not settings.retention_days:
        log.reason = "retention disabled"
    else:
        log.cutoff = cutoff = now - timedelta(days=settings.retention_days)  # computed once for the whole purge
        log.reason = f"retention {settings.retention_days} days" + (" (dry run)" if dry_run else "")
        for model, qs in _expired_querysets(cutoff):
            table = model._meta.db_table
            total = qs.count()
            if dry_run:
                counts[table] = total
                if progress:
                    progress(table, total, total)
                continue
            done = 0
            # Re-query each chunk: deleted rows are gone, and a record held meanwhile drops out.
            while ids := list(qs.order_by("-pk").values_list("pk", flat=True)[:CHUNK]):
                with transaction.atomic(), purge_permit(reason=log.reason):
                    chunk = _delete_rows(model, ids)
                _add(counts, chunk)
                done += chunk[table]
                if progress:
                    progress(table, done, total)
                if chunk[table] == 0:
                    break
            counts.setdefault(table, 0)
    log.counts = counts
    log.finished_at = timezone.now()
    log.save()
    return PurgeResult(log=log, counts=counts)


PURGEABLE = {m._meta.label_lower: m for m in (AuditRecord, Incident, DisciplinaryAction, ScoreRecord, Penalty)}


def records_purge_early(*, model_label: str, ids: list, reason: str, actor: User, now: datetime) -> PurgeLog:
    """The Director's manual cleanup: chosen records go before their time, with their history. An incident
    takes its report, actions and penalties with it; an action takes its overturn. Held records are refused."""
    # A human Director, signed in to an active account: no API key (even a Director's) and no other role.
    if not (isinstance(actor, User) and actor.is_active and is_director(actor)):
        raise DomainError("only the Director may purge records", field="actor", code="forbidden")
    if not reason or not reason.strip():
        raise DomainError("a reason is required", field="reason")
    model = PURGEABLE.get(model_label.lower())
    if model is None:
        raise DomainError(f"{model_label} records cannot be purged", field="model")
    workers, incidents = _open_holds()
    rows = model.objects.filter(pk__in=ids)
    held_q = Q(worker_id__in=workers)
    if model is Incident:
        held_q |= Q(pk__in=incidents)
    elif model is not ScoreRecord:
        held_q |= Q(incident_id__in=incidents)
    if rows.filter(held_q).exists():
        raise DomainError("some chosen records are under an open hold; lift it first", field="ids", code="held")
    plan: list[tuple[type[Model], list]] = []
    if model is Incident:
        chosen = list(rows.values_list("pk", flat=True))
        plan += [
            (Penalty, list(Penalty.objects.filter(incident_id__in=chosen).values_list("pk", flat=True))),
            (
                DisciplinaryAction,
                list(
                    DisciplinaryAction.objects.filter(Q(incident_id__in=chosen) | Q(overturns__incident_id__in=chosen))
                    .order_by("-pk")
                    .values_list("pk", flat=True)
                ),
            ),
            (AuditRecord, list(AuditRecord.objects.filter(incident_id__in=chosen).values_list("pk", flat=True))),
            (Incident, chosen),
        ]
    elif model is DisciplinaryAction:
        chosen = list(rows.values_list("pk", flat=True))
        overturns = list(DisciplinaryAction.objects.filter(overturns_id__in=chosen).values_list("pk", flat=True))
        plan.append((DisciplinaryAction, sorted(set(chosen) | set(overturns), reverse=True)))
    else:
        plan.append((model, list(rows.values_list("pk", flat=True))))
    counts: dict[str, int] = {}
    with transaction.atomic(), purge_permit(reason=f"Director {actor.get_username()}: {reason}"[:300]):
        for target, target_ids in plan:
            _add(counts, _delete_rows(target, target_ids))
        log = PurgeLog.objects.create(
            actor_kind=PurgeLog.Actor.DIRECTOR,
            actor=actor,
            reason=reason,
            counts=counts,
            started_at=now,
            finished_at=now,
        )
    return log
