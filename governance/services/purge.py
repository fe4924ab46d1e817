"""Retention purge and the Director's early purge.

Design note. The disciplinary record is kept for `retention_days` (365 by default) and then deleted, on beat's
daily tick or by `manage.py purge_expired`. What goes: reports (AuditRecord) with the detectors' findings on
them, incidents, disciplinary actions, scores, penalties and Manager events older than the cutoff, and the
Historical* rows of every one of them, or the purged data would live on in its history. So do the copies:
batch audit runs finished before the cutoff, with their items (each holds the report it carried and its
answer), and the stored answers to Idempotency-Key commands (CommandRecord). An item whose report is purged
while its run stays (an early purge, a report id sent again in a newer batch) has its payload and result
replaced by a stub naming the report id. What stays:
- everything under an open Hold (an appeal or a Director's hold), on the worker or the incident: its
  records, the Manager events naming the worker or the incident, and the batch runs that carried them;
- anything a kept record still points at: an incident whose report, action or penalty is kept, and an
  action whose OVERTURN is kept. Such records go on a later run, when what points at them has gone.
A lifted hold goes with the incident it covered: it names nothing once the incident has gone.
The Director's early purge also deletes the Manager events that copy the purged records (an incident's
violations, an action's reason, a score), in its one transaction, after checking holds under row locks.
Evidence tables and their Historical* tables refuse DELETE unless the transaction holds a purge permit (see
services/permits.py; on PostgreSQL the check runs once per statement, migration 0013). Every read and write
below goes over the purge's own connection (permits.purge_database): with database roles, the purge role's,
the only one that may delete evidence or write the PurgeLog (manage.py db_roles).
How it deletes, at a million rows:
1. The cutoff is computed once, and the PurgeLog row is written first.
2. Table by table, children before parents, the expired keys are chosen by one query (the holds and the
   kept-children tests are joins over whole tables, too costly to repeat per chunk) and numbered, in key
   order, into a temporary table of this connection.
3. Chunks of CHUNK keys are read from it by number and deleted with their history rows by that same key
   list (`= ANY(array)` on PostgreSQL), one short transaction per chunk, so reports keep flowing while a
   large purge runs. Each chunk adds its counts to the PurgeLog in its own transaction, so a purge killed
   halfway still says what it deleted; its finished_at stays empty. No chunk counts or re-queries.
A hold placed while a table is being purged is honoured as before: an incident's hold (Hold.incident is
PROTECT) fails the chunk rather than let the incident vanish, and the next run chooses again.
"""

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import connections, transaction
from django.db.models import Exists, F, Model, OuterRef, Q, QuerySet
from django.db.models.fields.json import KT
from django.utils import timezone

from aura_project.errors import DomainError
from governance.models import (
    AuditRecord,
    AuditRun,
    AuditRunItem,
    CommandRecord,
    DisciplinaryAction,
    Finding,
    Hold,
    Incident,
    Penalty,
    PendingSanction,
    PurgeLog,
    ScoreRecord,
)
from governance.selectors import settings_current
from governance.services.permits import purge_database, purge_permit
from workforce.models import Event, Worker
from workforce.services.access import is_director

# Rows of one table per transaction: under a second of deletes, history and foreign-key checks.
CHUNK = 10_000
# Connections deleting chunks side by side on PostgreSQL (below): the foreign-key checks that a deleted
# incident fires (twelve index probes) keep one backend busy, and this machine has two cores.
STREAMS = 2
REDACT_CHUNK = 500  # batch items redacted per transaction, each loaded with its payload
# The expired keys of the table being purged, numbered in key order (a temporary table of this connection).
SNAPSHOT = "aura_purge_snapshot"
Progress = Callable[[str, int, int], None]
# PurgeLog.counts key for batch items whose copy of a purged report was replaced by a stub (not deleted).
REDACTED_ITEMS = f"{AuditRunItem._meta.db_table} (redacted)"
# The events a report's task repair writes, their reason listing the incident's violations.
REPORT_TASK_EVENTS = (Event.Kind.TASK_REASSIGNED, Event.Kind.TASK_WAITING)


class _PurgeConnection:
    """This module's `connection`: the purge's own, in the calling thread, looked up on each use (a test may
    configure the purge alias after import)."""

    def __getattr__(self, name: str):
        return getattr(connections[purge_database()], name)


connection = _PurgeConnection()


def _objects(model: type[Model]):
    """`model.objects` on the purge's connection, so that every query of one purge runs on the same one."""
    return model._default_manager.db_manager(purge_database())


@dataclass
class PurgeResult:
    log: PurgeLog
    counts: dict[str, int] = field(default_factory=dict)


def _open_holds() -> tuple[set[int], set]:
    holds = _objects(Hold).filter(lifted_at__isnull=True)
    return (
        set(holds.exclude(worker=None).values_list("worker_id", flat=True)),
        set(holds.exclude(incident=None).values_list("incident_id", flat=True)),
    )


def _held_names(workers: set[int], incidents: set) -> tuple[list[str], list[str]]:
    """The held workers' model ids and the held incidents' ids as text: events and batch items name them so
    (an event's model_id column, JSON keys), not by foreign key."""
    return (
        list(_objects(Worker).filter(pk__in=workers).values_list("model_id", flat=True)),
        [str(pk) for pk in incidents],
    )


def _json_key_in(field: str, key: str, values: list[str]) -> Q:
    """`field[key]` is one of `values`. Under exclude() a bare key lookup is unknown (SQL NULL) where the key
    is missing, and the row would drop out of the purge for good; has_key makes that false instead."""
    return Q(**{f"{field}__has_key": key}) & Q(**{f"{field}__{key}__in": values})


def _kept_children_of_incidents(model: type[Model], expired: QuerySet) -> QuerySet:
    """The incident ids that a row of `model` staying after this purge still points at."""
    return _objects(model).filter(incident__isnull=False).exclude(pk__in=expired.values("pk")).values("incident_id")


def _expired_querysets(cutoff: datetime) -> list[tuple[type[Model], QuerySet]]:
    """Children first: what points at an incident or an action goes before it."""
    workers, incidents = _open_holds()
    held = Q(worker_id__in=workers) | Q(incident_id__in=incidents)
    held_model_ids, held_incident_ids = _held_names(workers, incidents)
    penalties = _objects(Penalty).filter(created_at__lt=cutoff).exclude(held)
    actions = (
        _objects(DisciplinaryAction)
        .filter(created_at__lt=cutoff)
        .exclude(held)
        # An action whose overturn is kept stays with it; the overturn (a later row) goes first.
        .exclude(overturned_by__created_at__gte=cutoff)
        .exclude(overturned_by__worker_id__in=workers)
    )
    reports = _objects(AuditRecord).filter(received_at__lt=cutoff).exclude(held)
    scores = _objects(ScoreRecord).filter(created_at__lt=cutoff).exclude(held)
    # Held sanctions are review rows, not evidence: they go with their incident, or when old enough.
    reviews = _objects(PendingSanction).filter(created_at__lt=cutoff).exclude(held)
    return [
        (Penalty, penalties),
        (PendingSanction, reviews),  # before the actions a confirmed one points at
        (DisciplinaryAction, actions),
        (ScoreRecord, scores),
        (AuditRecord, reports),
        (
            Incident,
            # An incident goes when none of its children stays. Asked of the children this purge keeps (rather
            # than of those left in the table), so a dry run, which deletes none, counts the incidents too.
            _objects(Incident)
            .filter(reported_at__lt=cutoff)
            .exclude(worker_id__in=workers)
            .exclude(pk__in=incidents)
            .exclude(pk__in=_kept_children_of_incidents(Penalty, penalties))
            .exclude(pk__in=_kept_children_of_incidents(DisciplinaryAction, actions))
            .exclude(pk__in=_kept_children_of_incidents(AuditRecord, reports))
            .exclude(pk__in=_kept_children_of_incidents(ScoreRecord, scores))
            .exclude(pk__in=_kept_children_of_incidents(PendingSanction, reviews)),
        ),
        (
            Event,
            _objects(Event)
            .filter(created_at__lt=cutoff)
            .exclude(Q(model_id__in=held_model_ids) | _json_key_in("payload", "incident_id", held_incident_ids)),
        ),
        (
            AuditRun,
            # A finished run's reports were received before it finished, so they are all past the cutoff too.
            # A run that carried a held worker's or incident's report stays with it.
            _objects(AuditRun)
            .filter(finished_at__lt=cutoff)
            .exclude(
                pk__in=_objects(AuditRunItem)
                .filter(
                    Q(payload__model_id__in=held_model_ids)
                    | Q(result__model_id__in=held_model_ids)
                    | Q(result__incident_id__in=held_incident_ids)
                )
                .values("run_id")
            ),
        ),
        # Stored answers to Idempotency-Key commands: a retry a year late is no retry, and the answer copies
        # a decision. They name no worker, so no hold reaches them.
        (CommandRecord, _objects(CommandRecord).filter(created_at__lt=cutoff)),
    ]


def _history_model(model: type[Model]) -> type[Model] | None:
    history = getattr(model, "history", None)
    return history.model if history is not None else None


def _orphaned_items() -> QuerySet:
    """Processed batch items whose report is gone (purged): their copy of it is all that is left.

    One anti-join over the items per purge, rather than a scan of the unindexed JSON per chunk of reports;
    it also catches the copies a purge killed halfway left behind."""
    return (
        _objects(AuditRunItem)
        .filter(result__has_key="report_id")
        .exclude(result__has_key="purged")
        .annotate(carried_report=KT("result__report_id"))
        .filter(~Exists(_objects(AuditRecord).filter(report_id=OuterRef("carried_report"))))
    )


def _redact_run_items(report_ids: list[str]) -> int:
    """Replace the batch items' copies of these (purged) reports with a stub naming the report id."""
    if not report_ids:
        return 0
    carried = Q(payload__report_id__in=report_ids) | Q(result__report_id__in=report_ids)
    # An item sent without a report id gets "run:<run id>:<position>" (audit_runs._item_report_id); its
    # result names it once processed, and this catches one whose result was never stored.
    generated: dict[str, list[int]] = {}
    for report_id in report_ids:
        parts = report_id.split(":")
        if len(parts) == 3 and parts[0] == "run" and parts[2].isdigit():
            generated.setdefault(parts[1], []).append(int(parts[2]))
    for run_id, positions in generated.items():
        carried |= Q(run_id=run_id, position__in=positions)
    return _stub_items(_objects(AuditRunItem).filter(carried), report_ids)


def _stub_items(candidates: QuerySet, report_ids: list[str]) -> int:
    """Stub those of `candidates` that carry one of these purged reports; how many."""
    purged = set(report_ids)
    items = []
    for item in candidates:
        named = [
            (item.result or {}).get("report_id") if isinstance(item.result, dict) else None,
            item.payload.get("report_id") if isinstance(item.payload, dict) else None,
            f"run:{item.run_id}:{item.position}",
        ]
        report_id = next((rid for rid in named if rid in purged), None)
        if report_id is None:
            continue  # a JSON lookup matched loosely (a number for a string): not this report's item
        item.payload = item.result = {"purged": True, "report_id": report_id}
        # Its report was made (and is now purged): a pending item is done, not to be processed again.
        if item.status == AuditRunItem.Status.PENDING:
            item.status = AuditRunItem.Status.DONE
        items.append(item)
    _objects(AuditRunItem).bulk_update(items, ["payload", "result", "status"])
    return len(items)


@dataclass(frozen=True)
class Numbered:
    """The snapshot's keys numbered after..upto: one chunk of the retention purge."""

    after: int
    upto: int


@dataclass(frozen=True)
class KeyArray:
    """A chunk's keys as a PostgreSQL array literal: how a chunk goes to another connection's stream."""

    text: str


Keys = list | Numbered | KeyArray  # the early purge's chosen ids, or a chunk of the retention purge's snapshot


def _keys_in(column: str, keys: Keys, key_type: str) -> tuple[str, list]:
    """SQL for `column` is one of `keys`, with its parameters."""
    qn = connection.ops.quote_name
    postgres = connection.vendor == "postgresql"
    if isinstance(keys, Numbered):
        chosen = f"SELECT id FROM {SNAPSHOT} WHERE n > %s AND n <= %s"
        # An array the planner cannot see into, so it probes the column's index key by key and never scans
        # the table; the keys stay in the database.
        sql = f"{qn(column)} = ANY(ARRAY({chosen}))" if postgres else f"{qn(column)} IN ({chosen})"
        return sql, [keys.after, keys.upto]
    if isinstance(keys, KeyArray):
        return f"{qn(column)} = ANY(%s::{key_type}[])", [keys.text]
    if postgres:
        return f"{qn(column)} = ANY(%s::{key_type}[])", [keys]
    return f"{qn(column)} IN ({', '.join(['%s'] * len(keys))})", keys


def _delete_where(table: str, column: str, keys: Keys, key_type: str, also: str = "") -> int:
    """DELETE the rows of `table` whose `column` is one of `keys`; how many."""
    where, params = _keys_in(column, keys, key_type)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {connection.ops.quote_name(table)} WHERE {where}{also}", params)
        return cursor.rowcount


def _delete_rows(model: type[Model], keys: Keys) -> dict[str, int]:
    """Delete rows and their history rows, by the same keys. Raw deletes: the ORM's collector would refuse
    PROTECTed links that this same purge is removing. The caller holds the transaction and the purge permit."""
    counts = {}
    if not keys:
        return counts
    pk = model._meta.pk
    if isinstance(keys, list):  # the key values as the database stores them (SQLite: a UUID as hex text)
        keys = [pk.get_db_prep_value(key, connection) for key in keys]
    key_type = pk.rel_db_type(connection)
    if model is Incident:
        # Hold.incident is PROTECT: a lifted hold left behind would make the commit fail. An open hold is not
        # touched, so an incident held since it was chosen makes the chunk fail rather than vanish.
        lifted = _delete_where(Hold._meta.db_table, "incident_id", keys, key_type, " AND lifted_at IS NOT NULL")
        if lifted:
            counts[Hold._meta.db_table] = lifted
    elif model is AuditRun:
        # A raw delete does not cascade: the items go first.
        counts[AuditRunItem._meta.db_table] = _delete_where(AuditRunItem._meta.db_table, "run_id", keys, key_type)
    elif model is AuditRecord:
        # A report's findings go with it, and stay with it (a held report keeps them). A finding's incident is its
        # report's, so the incident, which goes after its report, never goes before them. Counted only when any.
        if found := _delete_where(Finding._meta.db_table, "audit_record_id", keys, key_type):
            counts[Finding._meta.db_table] = found
    counts[model._meta.db_table] = _delete_where(model._meta.db_table, pk.column, keys, key_type)
    history_model = _history_model(model)
    if history_model is not None:
        counts[history_model._meta.db_table] = _delete_where(history_model._meta.db_table, pk.attname, keys, key_type)
    return counts


def _snapshot(model: type[Model], expired: QuerySet) -> int:
    """Number the expired rows' keys, in key order, into SNAPSHOT (replacing what it held); how many.

    One query per table, however many chunks follow; in key order so that a chunk's deletes and their
    foreign-key checks probe neighbouring index pages."""
    key_type = model._meta.pk.rel_db_type(connection)
    sql, params = expired.order_by().values(purge_key=F("pk")).query.get_compiler(connection.alias).as_sql()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {SNAPSHOT}")
        cursor.execute(f"CREATE TEMPORARY TABLE {SNAPSHOT} (n bigint PRIMARY KEY, id {key_type} NOT NULL)")
        cursor.execute(
            f"INSERT INTO {SNAPSHOT} (n, id) SELECT ROW_NUMBER() OVER (ORDER BY q.purge_key), q.purge_key "
            f"FROM ({sql}) q",
            params,
        )
        return cursor.rowcount


def _snapshot_array(keys: Numbered) -> KeyArray:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT array_agg(id ORDER BY n)::text FROM {SNAPSHOT} WHERE n > %s AND n <= %s", [keys.after, keys.upto]
        )
        return KeyArray(cursor.fetchone()[0] or "{}")


def _snapshot_drop() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {SNAPSHOT}")


def _add(total: dict[str, int], more: dict[str, int]) -> None:
    for table, n in more.items():
        total[table] = total.get(table, 0) + n


def _delete_chunk(model: type[Model], keys: Keys, *, log_pk: int, reason: str, finished: list[str]) -> dict[str, int]:
    """One chunk in one transaction: its rows and history rows, and their counts added to the PurgeLog,
    which commit together or not at all."""
    with transaction.atomic(using=purge_database()), purge_permit(reason=reason):
        chunk = _delete_rows(model, keys)
        if connection.vendor == "postgresql":
            # Check the foreign keys now rather than at commit, so another stream waits for the log row only
            # while this one writes it.
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        logged = _objects(PurgeLog).select_for_update().only("counts").get(pk=log_pk)
        for table in finished:  # the tables done before this one say 0, as the finished log does
            logged.counts.setdefault(table, 0)
        _add(logged.counts, chunk)
        logged.save(update_fields=["counts"])
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    return chunk


def _delete_chunk_in_stream(model: type[Model], keys: KeyArray, **kwargs) -> dict[str, int]:
    """A stream's chunk, on the stream thread's own connection, closed after it (one connect per chunk is
    milliseconds against a chunk's second)."""
    try:
        return _delete_chunk(model, keys, **kwargs)
    finally:
        connection.close()


def _delete_chunks(model: type[Model], total: int, *, log: PurgeLog, finished: list[str]) -> Iterator[dict]:
    """Delete the snapshot's `total` rows of `model` chunk by chunk; each chunk's counts, in chunk order.

    On PostgreSQL, outside a transaction, STREAMS connections delete chunks side by side: this connection
    reads each chunk's keys from its snapshot and hands them over. Inside a transaction (a test's) or on
    SQLite (one writer), one chunk at a time on this connection."""
    context = {"log_pk": log.pk, "reason": log.reason, "finished": finished}
    numbered = (Numbered(after, after + CHUNK) for after in range(0, total, CHUNK))
    if connection.vendor != "postgresql" or connection.in_atomic_block or STREAMS < 2:
        for keys in numbered:
            yield _delete_chunk(model, keys, **context)
        return
    with ThreadPoolExecutor(max_workers=STREAMS, thread_name_prefix="purge") as pool:
        running: deque[Future] = deque()
        try:
            for keys in numbered:
                running.append(pool.submit(_delete_chunk_in_stream, model, _snapshot_array(keys), **context))
                if len(running) > STREAMS:  # one chunk ready for each stream, no more in memory
                    yield running.popleft().result()
            while running:
                yield running.popleft().result()
        finally:
            for future in running:  # a chunk failed: those not started never start
                future.cancel()


def purge_expired(
    *,
    now: datetime,
    actor_kind: str = PurgeLog.Actor.BEAT,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> PurgeResult:
    """The retention purge. Skipped (and logged) when retention is switched off (0 days)."""
    settings = settings_current()
    if not settings.retention_days:
        log = _objects(PurgeLog).create(
            actor_kind=actor_kind,
            started_at=now,
            dry_run=dry_run,
            retention_days=0,
            reason="retention disabled",
            finished_at=timezone.now(),
        )
        return PurgeResult(log=log, counts={})
    cutoff = now - timedelta(days=settings.retention_days)  # computed once for the whole purge
    # 1. The log first: every chunk below adds to it as it commits.
    log = _objects(PurgeLog).create(
        actor_kind=actor_kind,
        started_at=now,
        dry_run=dry_run,
        retention_days=settings.retention_days,
        cutoff=cutoff,
        reason=f"retention {settings.retention_days} days" + (" (dry run)" if dry_run else ""),
    )
    counts: dict[str, int] = {}
    # 2. Table by table, children first, in chunks.
    for model, qs in _expired_querysets(cutoff):
        table = model._meta.db_table
        if dry_run:
            total = qs.count()
            counts[table] = total
            if model is AuditRun:
                counts[AuditRunItem._meta.db_table] = _objects(AuditRunItem).filter(run__in=qs).count()
            if model is AuditRecord and (found := _objects(Finding).filter(audit_record__in=qs).count()):
                counts[Finding._meta.db_table] = found
            if progress:
                progress(table, total, total)
            continue
        counts.setdefault(table, 0)
        if model is AuditRun:
            counts.setdefault(AuditRunItem._meta.db_table, 0)
        try:
            total, done = _snapshot(model, qs), 0
            for chunk in _delete_chunks(model, total, log=log, finished=list(counts)):
                _add(counts, chunk)
                done += chunk.get(table, 0)
                if progress:
                    progress(table, done, total)
        finally:
            _snapshot_drop()
    # 3. The batch items still holding a copy of a report just purged (a report id sent again in a newer
    # batch) keep a stub instead. A dry run purged nothing, so it has nothing to redact. The items and the log
    # are append-only but to a permit (migration 0015).
    while not dry_run and (orphans := list(_orphaned_items().values_list("pk", "carried_report")[:REDACT_CHUNK])):
        with transaction.atomic(using=purge_database()), purge_permit(reason=log.reason):
            redacted = _stub_items(
                _objects(AuditRunItem).filter(pk__in=[pk for pk, _ in orphans]), [report_id for _, report_id in orphans]
            )
            logged = dict(counts)
            _add(logged, {REDACTED_ITEMS: redacted})
            log.counts = logged
            log.save(update_fields=["counts"])
        counts = logged
        if not redacted:
            break
    # 4. Done: the zero counts and the end time.
    log.counts = counts
    log.finished_at = timezone.now()
    with transaction.atomic(using=purge_database()), purge_permit(reason=log.reason):
        log.save(update_fields=["counts", "finished_at"])
    return PurgeResult(log=log, counts=counts)


PURGEABLE = {m._meta.label_lower: m for m in (AuditRecord, Incident, DisciplinaryAction, ScoreRecord, Penalty)}


def _lock_hold_targets(model: type[Model], rows: QuerySet) -> None:
    """Lock, FOR UPDATE, the rows a hold on the chosen records would name: their workers, then their incidents.

    Workers before incidents and each in primary-key order, as the report pipeline and the overturn take them.
    PostgreSQL checks a new hold's foreign keys at its commit with a key-share lock on these rows, so a hold
    placed while this purge runs waits for it and lands after it (on a purged incident it then fails); a hold
    committed before the lock is seen by the check that follows. SQLite's IMMEDIATE transactions already make
    the purge the only writer."""
    list(_objects(Worker).select_for_update().filter(pk__in=rows.values("worker_id")).order_by("pk").values("pk"))
    if model is Incident:
        incidents = rows.values("pk")
    else:  # every other evidence row may name an incident (a score: the incident whose penalty it moved)
        incidents = rows.filter(incident__isnull=False).values("incident_id")
    list(_objects(Incident).select_for_update().filter(pk__in=incidents).order_by("pk").values("pk"))


def _events_copying(plan: list[tuple[type[Model], list]]) -> list[int]:
    """The Manager events that copy what an early purge deletes.

    An event names the incident (incident.opened carries its violations, action.applied the action's reason),
    the action or the score it reports by id. The task events of the incident's own report name no incident but
    give its violations as their reason; the outbox stamps them with the report's clock, so they are the task's
    events at the incident's reported_at. The JSON lookups only narrow the candidates: each is confirmed here,
    since SQLite compares a JSON number and a string loosely."""
    purged = {model: ids for model, ids in plan}
    incidents = list(
        _objects(Incident).filter(pk__in=purged.get(Incident, [])).values_list("pk", "task__task_id", "reported_at")
    )
    named = {
        "incident_id": {str(pk) for pk, _, _ in incidents},
        "action_id": set(purged.get(DisciplinaryAction, [])),
        "score_id": set(purged.get(ScoreRecord, [])),
    }
    candidates = Q(pk__in=[])
    for key, values in named.items():
        if values:
            candidates |= _json_key_in("payload", key, list(values))
    for _, task_id, reported_at in incidents:
        candidates |= Q(kind__in=REPORT_TASK_EVENTS, task_id=task_id, created_at=reported_at)
    task_events = {(task_id, reported_at) for _, task_id, reported_at in incidents}
    return [
        pk
        for pk, kind, task_id, created_at, payload in _objects(Event)
        .filter(candidates)
        .values_list("pk", "kind", "task_id", "created_at", "payload")
        if any(_names(payload, key, values) for key, values in named.items())
        or (kind in REPORT_TASK_EVENTS and (task_id, created_at) in task_events)
    ]


def _names(payload, key: str, values: set) -> bool:
    """The payload's `key` is one of `values`, of the same type (an id 1 is not "1", nor True)."""
    value = payload.get(key) if isinstance(payload, dict) else None
    return type(value) in (str, int) and value in values


def records_purge_early(*, model_label: str, ids: list, reason: str, actor: User, now: datetime) -> PurgeLog:
    """The Director's manual cleanup: chosen records go before their time, with their history and the Manager
    events that copy them. An incident takes its report, actions and penalties with it; an action takes its
    overturn. Held records are refused."""
    # A human Director, signed in to an active account: no API key (even a Director's) and no other role.
    if not (isinstance(actor, User) and actor.is_active and is_director(actor)):
        raise DomainError("only the Director may purge records", field="actor", code="forbidden")
    if not reason or not reason.strip():
        raise DomainError("a reason is required", field="reason")
    model = PURGEABLE.get(model_label.lower())
    if model is None:
        raise DomainError(f"{model_label} records cannot be purged", field="model")
    counts: dict[str, int] = {}
    with transaction.atomic(using=purge_database()):
        rows = _objects(model).filter(pk__in=ids)
        # 1. Lock, then look for holds: checked before the transaction, a hold placed in between went unseen.
        _lock_hold_targets(model, rows)
        workers, incidents = _open_holds()
        held_q = Q(worker_id__in=workers)
        if model is Incident:
            held_q |= Q(pk__in=incidents)
        else:
            held_q |= Q(incident_id__in=incidents)
        if rows.filter(held_q).exists():
            raise DomainError("some chosen records are under an open hold; lift it first", field="ids", code="held")
        # 2. What goes, read under the same locks (an overturn made meanwhile goes with its action).
        plan = _early_purge_plan(model, rows)
        report_ids = [
            report_id
            for target, target_ids in plan
            if target is AuditRecord
            for report_id in _objects(AuditRecord).filter(pk__in=target_ids).values_list("report_id", flat=True)
        ]
        events = _events_copying(plan)
        # 3. Delete, children first, then the Manager events that copy them. Events refuse UPDATE, so they
        # cannot be redacted in place; a gap in the ids is harmless to the Manager's cursor.
        with purge_permit(reason=f"Director {actor.get_username()}: {reason}"[:300]):
            for target, target_ids in plan:
                _add(counts, _delete_rows(target, target_ids))
            if events:
                _add(counts, _delete_rows(Event, events))
            # 4. The batch items that carried a purged report keep only its id (items are append-only but to
            # a permit).
            if redacted := _redact_run_items(report_ids):
                counts[REDACTED_ITEMS] = redacted
        log = _objects(PurgeLog).create(
            actor_kind=PurgeLog.Actor.DIRECTOR,
            actor=actor,
            reason=reason,
            counts=counts,
            started_at=now,
            finished_at=now,
        )
    return log


def _early_purge_plan(model: type[Model], rows: QuerySet) -> list[tuple[type[Model], list]]:
    """(model, ids) to delete, children before parents."""
    chosen = list(rows.values_list("pk", flat=True))
    if model is Incident:
        return [
            (
                PendingSanction,
                list(_objects(PendingSanction).filter(incident_id__in=chosen).values_list("pk", flat=True)),
            ),
            (Penalty, list(_objects(Penalty).filter(incident_id__in=chosen).values_list("pk", flat=True))),
            (ScoreRecord, list(_objects(ScoreRecord).filter(incident_id__in=chosen).values_list("pk", flat=True))),
            (
                DisciplinaryAction,
                list(
                    _objects(DisciplinaryAction)
                    .filter(Q(incident_id__in=chosen) | Q(overturns__incident_id__in=chosen))
                    .order_by("-pk")
                    .values_list("pk", flat=True)
                ),
            ),
            (AuditRecord, list(_objects(AuditRecord).filter(incident_id__in=chosen).values_list("pk", flat=True))),
            (Incident, chosen),
        ]
    if model is DisciplinaryAction:
        overturns = list(_objects(DisciplinaryAction).filter(overturns_id__in=chosen).values_list("pk", flat=True))
        actions = sorted(set(chosen) | set(overturns), reverse=True)
        reviews = list(_objects(PendingSanction).filter(applied_id__in=actions).values_list("pk", flat=True))
        return [(PendingSanction, reviews), (DisciplinaryAction, actions)]
    return [(model, chosen)]
