"""The one-year record: the retention purge and the Director's early purge, against the real database.

Old records are built with their timestamps in the past at creation: evidence refuses UPDATE, so a record
cannot be aged afterwards. Every purge here is followed by a check of the database's foreign keys, which
the test transaction would otherwise only check at a commit that never comes.
"""

import io
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.core.management import call_command
from django.db import connection
from django.db.models import Model
from django.utils import timezone
from rest_framework.test import APIRequestFactory

from aura_project.errors import DomainError
from governance.models import (
    AuditRecord,
    DisciplinaryAction,
    GovernanceSettings,
    Hold,
    Incident,
    Penalty,
    PurgeLog,
    ScoreRecord,
)
from governance.services import purge as purge_module
from governance.services.purge import purge_expired, records_purge_early
from workforce.api.auth import ServiceKeyAuthentication
from workforce.models import Event, Role, Task, Worker

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
EVIDENCE = (AuditRecord, Incident, DisciplinaryAction, Penalty, ScoreRecord)


# --- Builders and checks ------------------------------------------------------------------------------------


@dataclass
class Record:
    """One violation's full trail on a worker, all at one time."""

    worker: Worker
    incident: Incident
    report: AuditRecord
    action: DisciplinaryAction
    penalty: Penalty
    score: ScoreRecord
    clean_report: AuditRecord
    event: Event

    def rows(self) -> list[Model]:
        return [self.incident, self.report, self.action, self.penalty, self.score, self.clean_report, self.event]


_serial = iter(range(1_000_000))


def hire(model_id: str) -> Worker:
    return Worker.objects.create(model_id=model_id, capabilities=["code"])


def record(worker: Worker, at: datetime) -> Record:
    """A timeout at `at` as the incident pipeline writes it, a clean report and a score beside it."""
    n = next(_serial)
    task = Task.objects.create(task_id=f"{worker.model_id}/task-{n}", capability="code")
    incident = Incident.objects.create(
        worker=worker,
        task=task,
        severity=2,
        status=Incident.Status.ACTIONED,
        violations=[["timeout", 2]],
        evidence=["step 1", "step 2"],
        settings_version=1,
        reported_at=at,
    )

    def audit(suffix: str, **fields) -> AuditRecord:
        return AuditRecord.objects.create(
            report_id=f"r-{n}-{suffix}", request_hash="0" * 64, task=task, worker=worker, settings_version=1,
            received_at=at, **fields,
        )  # fmt: skip

    return Record(
        worker=worker,
        incident=incident,
        report=audit("violation", outcome=AuditRecord.Outcome.VIOLATION, duration_ms=90_000, incident=incident),
        action=DisciplinaryAction.objects.create(
            worker=worker,
            incident=incident,
            action="WARNING",
            reason="timeout (severity 2): policy",
            actor_kind=DisciplinaryAction.Actor.HR,
            policy_version=1,
            violation_type="timeout",
            created_at=at,
        ),
        penalty=Penalty.objects.create(
            worker=worker,
            incident=incident,
            reason="timeout",
            severity=2,
            points=-20,
            settings_version=1,
            created_at=at,
        ),
        score=ScoreRecord.objects.create(
            worker=worker,
            score=40,
            previous_reputation=60,
            reputation=54,
            action="NONE",
            metrics={},
            penalties=["timeout"],
            settings_version=1,
            run_key=f"report:r-{n}",
            created_at=at,
        ),
        clean_report=audit("clean", outcome=AuditRecord.Outcome.CLEAN, duration_ms=1_000),
        event=Event.objects.create(
            kind=Event.Kind.INCIDENT_OPENED, model_id=worker.model_id, payload={"n": n}, created_at=at
        ),
    )


def exists(row: Model) -> bool:
    return type(row).objects.filter(pk=row.pk).exists()


def history_of(row: Model):
    history = getattr(type(row), "history", None)
    return None if history is None else history.model.objects.filter(id=row.pk)


def assert_purged(*records: Record) -> None:
    for rec in records:
        for row in rec.rows():
            assert not exists(row), f"{type(row).__name__} {row.pk} survived"
            history = history_of(row)
            if history is not None:
                assert not history.exists(), f"the history of {type(row).__name__} {row.pk} survived"


def assert_kept(*records: Record, events: bool = True) -> None:
    for rec in records:
        for row in rec.rows():
            if isinstance(row, Event) and not events:
                continue
            assert exists(row), f"{type(row).__name__} {row.pk} was purged"
            history = history_of(row)
            if history is not None:
                assert history.exists(), f"the history of {type(row).__name__} {row.pk} was purged"


def assert_foreign_keys_hold() -> None:
    """What the test transaction's commit would check: no row points at a deleted one."""
    connection.check_constraints()


def table_counts() -> dict[str, int]:
    models = [*EVIDENCE, Event, *(m.history.model for m in EVIDENCE), PurgeLog, Hold]
    return {m._meta.db_table: m.objects.count() for m in models}


@pytest.fixture
def now() -> datetime:
    return timezone.now().replace(microsecond=0)


# --- Retention exactness ------------------------------------------------------------------------------------


def test_a_record_366_days_old_is_purged_with_its_history_and_one_364_days_old_is_kept(now):
    worker = hire("aged")
    old, young = record(worker, now - 366 * DAY), record(worker, now - 364 * DAY)

    result = purge_expired(now=now)

    assert_foreign_keys_hold()
    assert_purged(old)
    assert_kept(young)
    assert Worker.objects.filter(pk=worker.pk).exists()  # the worker is not a record; it stays
    assert result.counts["governance_incident"] == result.counts["governance_historicalincident"] == 1
    assert result.counts["governance_auditrecord"] == result.counts["governance_historicalauditrecord"] == 2


def test_the_cutoff_is_exactly_the_retention_period_before_now(now):
    worker = hire("edge")
    past_edge = record(worker, now - 365 * DAY - timedelta(seconds=1))
    on_edge = record(worker, now - 365 * DAY)

    purge_expired(now=now)

    assert_foreign_keys_hold()
    assert_purged(past_edge)
    assert_kept(on_edge)


def test_every_historical_table_loses_exactly_the_purged_ids(now):
    workers = [hire(f"w{i}") for i in range(3)]
    old = [record(w, now - 400 * DAY) for w in workers]
    young = [record(w, now - 10 * DAY) for w in workers]

    purge_expired(now=now)

    for model in EVIDENCE:
        history = model.history.model.objects
        assert set(history.values_list("id", flat=True)) == set(model.objects.values_list("pk", flat=True))
    assert_purged(*old)
    assert_kept(*young)


def test_retention_follows_the_directors_setting(now):
    GovernanceSettings.objects.create(retention_days=30, note="a short memory")
    worker = hire("short")
    old, young = record(worker, now - 31 * DAY), record(worker, now - 29 * DAY)

    log = purge_expired(now=now).log

    assert_foreign_keys_hold()
    assert_purged(old)
    assert_kept(young)
    assert (log.retention_days, log.cutoff) == (30, now - 30 * DAY)


def test_retention_switched_off_purges_nothing_and_says_so(now):
    GovernanceSettings.objects.create(retention_days=0, note="keep everything")
    old = record(hire("forever"), now - 3000 * DAY)

    log = purge_expired(now=now).log

    assert_kept(old)
    assert log.reason == "retention disabled" and log.cutoff is None and log.counts == {}


def test_the_purge_deletes_in_batches_until_nothing_expired_is_left(now, monkeypatch):
    monkeypatch.setattr(purge_module, "CHUNK", 2)
    worker = hire("many")
    old = [record(worker, now - 500 * DAY) for _ in range(5)]
    young = record(worker, now - 5 * DAY)
    progress = []

    result = purge_expired(now=now, progress=lambda table, done, total: progress.append((table, done, total)))

    assert_foreign_keys_hold()
    assert_purged(*old)
    assert_kept(young)
    assert [p for p in progress if p[0] == "governance_auditrecord"] == [
        ("governance_auditrecord", 2, 10),
        ("governance_auditrecord", 4, 10),
        ("governance_auditrecord", 6, 10),
        ("governance_auditrecord", 8, 10),
        ("governance_auditrecord", 10, 10),
    ]
    assert result.counts["governance_auditrecord"] == 10


# --- What points at a kept record stays with it -------------------------------------------------------------


def test_an_old_incident_whose_newer_action_is_kept_is_not_purged_until_the_action_goes(now, director):
    worker = hire("appealed")
    old = record(worker, now - 366 * DAY)
    overturn = DisciplinaryAction.objects.create(
        worker=worker,
        incident=old.incident,
        action="OVERTURN",
        reason="the Director overturned it on review",
        actor_kind=DisciplinaryAction.Actor.DIRECTOR,
        actor=director,
        policy_version=1,
        overturns=old.action,
        created_at=now - 364 * DAY,
    )

    purge_expired(now=now)

    assert_foreign_keys_hold()
    assert exists(old.incident) and exists(old.action) and exists(overturn)
    assert history_of(old.incident).exists() and history_of(old.action).exists()
    assert not exists(old.report) and not exists(old.penalty) and not exists(old.score)

    purge_expired(now=now + 3 * DAY)

    assert_foreign_keys_hold()
    assert not exists(overturn) and not history_of(overturn).exists()
    assert_purged(old)


def test_an_old_incident_whose_report_is_kept_is_not_purged(now):
    worker = hire("late-report")
    old = record(worker, now - 366 * DAY)
    task = Task.objects.create(task_id="late", capability="code")
    incident = Incident.objects.create(
        worker=worker, task=task, severity=1, violations=[["format_violation", 1]], evidence=[],
        settings_version=1, reported_at=now - 366 * DAY,
    )  # fmt: skip
    newer_report = AuditRecord.objects.create(
        report_id="late-1", request_hash="1" * 64, task=task, worker=worker, outcome=AuditRecord.Outcome.VIOLATION,
        incident=incident, settings_version=1, received_at=now - 364 * DAY,
    )  # fmt: skip

    purge_expired(now=now)

    assert_foreign_keys_hold()
    assert_purged(old)
    assert exists(incident) and exists(newer_report)


# --- Holds --------------------------------------------------------------------------------------------------


def hold(*, director: User, now: datetime, worker: Worker | None = None, incident: Incident | None = None) -> Hold:
    return Hold.objects.create(
        kind=Hold.Kind.APPEAL if incident else Hold.Kind.DIRECTOR,
        worker=worker,
        incident=incident,
        reason="under review",
        created_by=director,
        created_at=now - 30 * DAY,
    )


def lift(h: Hold, *, by: User, at: datetime) -> None:
    h.lifted_at, h.lifted_by = at, by
    h.save(update_fields=["lifted_at", "lifted_by"])


def test_a_worker_under_an_open_hold_keeps_its_old_records_until_the_hold_is_lifted(now, director):
    held_worker, other = hire("held"), hire("other")
    held, loose = record(held_worker, now - 400 * DAY), record(other, now - 400 * DAY)
    h = hold(director=director, now=now, worker=held_worker)

    purge_expired(now=now)

    assert_foreign_keys_hold()
    assert_kept(held)  # the Manager events naming the held worker too
    assert_purged(loose)

    lift(h, by=director, at=now)
    purge_expired(now=now + DAY)

    assert_foreign_keys_hold()
    assert_purged(held)
    assert Hold.objects.filter(pk=h.pk).exists()  # the worker-wide hold itself stays on the record


def test_an_incident_under_an_open_appeal_keeps_its_trail_until_the_appeal_is_lifted(now, director):
    worker = hire("appeal")
    appealed, other = record(worker, now - 400 * DAY), record(worker, now - 400 * DAY)
    h = hold(director=director, now=now, incident=appealed.incident)

    purge_expired(now=now)

    assert_foreign_keys_hold()
    for row in (appealed.incident, appealed.report, appealed.action, appealed.penalty):
        assert exists(row) and history_of(row).exists(), type(row).__name__
    assert_purged(other)

    lift(h, by=director, at=now)
    purge_expired(now=now + DAY)

    assert_foreign_keys_hold()
    for row in (appealed.incident, appealed.report, appealed.action, appealed.penalty):
        assert not exists(row) and not history_of(row).exists(), type(row).__name__


# --- The PurgeLog and the dry run ---------------------------------------------------------------------------


def test_each_purge_writes_a_purge_log_with_its_cutoff_and_counts_per_table(now):
    worker = hire("logged")
    for age in (400, 380, 10):
        record(worker, now - age * DAY)

    purge_expired(now=now)

    log = PurgeLog.objects.get()
    assert log.actor_kind == PurgeLog.Actor.BEAT and log.actor is None
    assert log.cutoff == now - 365 * DAY and log.retention_days == 365
    assert log.started_at == now and log.finished_at is not None
    assert not log.dry_run
    assert log.counts == {
        "governance_penalty": 2,
        "governance_historicalpenalty": 2,
        "governance_pendingsanction": 0,
        "governance_disciplinaryaction": 2,
        "governance_historicaldisciplinaryaction": 2,
        "governance_scorerecord": 2,
        "governance_historicalscorerecord": 2,
        "governance_auditrecord": 4,
        "governance_historicalauditrecord": 4,
        "governance_incident": 2,
        "governance_historicalincident": 2,
        "workforce_event": 2,
        "governance_auditrun": 0,
        "governance_auditrunitem": 0,
        "governance_commandrecord": 0,
    }


def test_a_purge_with_nothing_expired_still_logs_zero_counts(now):
    record(hire("fresh"), now - DAY)

    result = purge_expired(now=now)

    assert PurgeLog.objects.get() == result.log
    assert set(result.counts.values()) == {0}
    assert "governance_auditrecord" in result.counts


def test_a_dry_run_deletes_nothing_and_counts_what_the_purge_would_delete(now, director):
    worker = hire("dry")
    for age in (400, 390, 370, 10):
        record(worker, now - age * DAY)
    overturned = record(worker, now - 380 * DAY)
    DisciplinaryAction.objects.create(
        worker=worker, incident=overturned.incident, action="OVERTURN", reason="on review",
        actor_kind=DisciplinaryAction.Actor.DIRECTOR, actor=director, policy_version=1,
        overturns=overturned.action, created_at=now - 200 * DAY,
    )  # fmt: skip
    before = table_counts()

    dry = purge_expired(now=now, dry_run=True)

    assert table_counts() == {**before, "governance_purgelog": before["governance_purgelog"] + 1}
    assert dry.log.dry_run and "dry run" in dry.log.reason
    real = purge_expired(now=now)
    main_tables = {t: n for t, n in real.counts.items() if "historical" not in t}
    assert dry.counts == main_tables
    assert dry.counts["governance_incident"] == 3


# --- The command twin ---------------------------------------------------------------------------------------


def test_purge_expired_dry_run_prints_progress_and_a_summary_and_deletes_nothing():
    now = timezone.now()
    old = record(hire("cmd"), now - 400 * DAY)
    out = io.StringIO()

    call_command("purge_expired", "--dry-run", stdout=out)

    text = out.getvalue()
    assert "governance_auditrecord" in text and "[##############################] 2/2" in text
    assert "Purge would delete 7 records and 0 history rows" in text
    assert_kept(old)
    assert PurgeLog.objects.get().actor_kind == PurgeLog.Actor.COMMAND


def test_purge_expired_deletes_and_prints_progress_and_a_summary():
    now = timezone.now()
    old, young = record(hire("cmd"), now - 400 * DAY), record(hire("cmd2"), now - 300 * DAY)
    out = io.StringIO()

    call_command("purge_expired", stdout=out)

    text = out.getvalue()
    assert_foreign_keys_hold()
    assert "Purge deleted 7 records and 6 history rows" in text
    assert "  governance_historicalauditrecord: 2" in text
    assert "[##############################]" in text
    assert_purged(old)
    assert_kept(young)
    assert PurgeLog.objects.get().actor_kind == PurgeLog.Actor.COMMAND


# --- The Director's early purge -----------------------------------------------------------------------------


def test_the_director_purges_a_chosen_record_early_with_its_history_and_a_log(now, director):
    worker = hire("early")
    chosen, other = record(worker, now - 20 * DAY), record(worker, now - 20 * DAY)

    log = records_purge_early(
        model_label="governance.auditrecord",
        ids=[chosen.clean_report.pk],
        reason="logged a customer's secret by mistake",
        actor=director,
        now=now,
    )

    assert_foreign_keys_hold()
    assert not exists(chosen.clean_report) and not history_of(chosen.clean_report).exists()
    assert exists(chosen.report)
    assert_kept(other)
    assert (log.actor_kind, log.actor, log.reason) == (
        PurgeLog.Actor.DIRECTOR,
        director,
        "logged a customer's secret by mistake",
    )
    assert log.counts == {"governance_auditrecord": 1, "governance_historicalauditrecord": 1}
    assert PurgeLog.objects.get() == log


def test_the_directors_purge_of_an_incident_takes_its_report_actions_and_penalties(now, director):
    worker = hire("early-incident")
    chosen, other = record(worker, now - 20 * DAY), record(worker, now - 20 * DAY)
    overturn = DisciplinaryAction.objects.create(
        worker=worker, action="OVERTURN", reason="on review", actor_kind=DisciplinaryAction.Actor.DIRECTOR,
        actor=director, policy_version=1, overturns=chosen.action, created_at=now - 10 * DAY,
    )  # fmt: skip

    records_purge_early(
        model_label="governance.incident", ids=[chosen.incident.pk], reason="wrongly opened", actor=director, now=now
    )

    assert_foreign_keys_hold()
    for row in (chosen.incident, chosen.report, chosen.action, chosen.penalty, overturn):
        assert not exists(row) and not history_of(row).exists(), type(row).__name__
    assert exists(chosen.score) and exists(chosen.clean_report)  # not part of the incident
    assert_kept(other)


def test_the_director_may_purge_an_incident_whose_appeal_was_lifted(now, director):
    worker = hire("was-appealed")
    chosen = record(worker, now - 20 * DAY)
    lift(hold(director=director, now=now, incident=chosen.incident), by=director, at=now - DAY)

    records_purge_early(
        model_label="governance.incident", ids=[chosen.incident.pk], reason="appeal upheld", actor=director, now=now
    )

    assert_foreign_keys_hold()
    assert not exists(chosen.incident)


def _key_principal(client):
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Api-Key {client.raw_key}")
    principal, _key = ServiceKeyAuthentication().authenticate(request)
    return principal


def _user_in(roles, username: str, role: Role | None, **flags) -> User:
    user = User.objects.create_user(username, password="x-pass-Δ9", **flags)
    if role is not None:
        user.groups.add(roles[role.value])
    return user


@pytest.fixture
def non_directors(roles, viewer, manager_key, auditor_key, viewer_key, director_key) -> dict[str, object]:
    """Everyone but a human Director: other roles, staff without a role, a deactivated Director, every key."""
    return {
        "viewer": viewer,
        "plain staff": _user_in(roles, "staff", None, is_staff=True),
        "manager user": _user_in(roles, "manager-user", Role.MANAGER, is_staff=True),
        "auditor user": _user_in(roles, "auditor-user", Role.AUDITOR, is_staff=True),
        "deactivated director": _user_in(roles, "ex-director", Role.DIRECTOR, is_staff=True, is_active=False),
        "anonymous": AnonymousUser(),
        "manager key": _key_principal(manager_key),
        "auditor key": _key_principal(auditor_key),
        "viewer key": _key_principal(viewer_key),
        "director key": _key_principal(director_key),
    }


def test_nobody_but_the_director_may_purge_early_not_even_the_directors_api_key(now, non_directors):
    rec = record(hire("protected"), now - 20 * DAY)
    before = table_counts()

    for who, actor in non_directors.items():
        for label, row in (("governance.auditrecord", rec.report), ("governance.incident", rec.incident)):
            with pytest.raises(DomainError) as refused:
                records_purge_early(model_label=label, ids=[row.pk], reason="cleanup", actor=actor, now=now)
            assert refused.value.code == "forbidden", who

    assert table_counts() == before
    assert_kept(rec)


@pytest.mark.parametrize("reason", ["", "   ", "\n"])
def test_the_director_must_give_a_reason(now, director, reason):
    rec = record(hire("no-reason"), now - 20 * DAY)

    with pytest.raises(DomainError) as refused:
        records_purge_early(model_label="governance.auditrecord", ids=[rec.report.pk], reason=reason, actor=director,
                            now=now)  # fmt: skip

    assert refused.value.field == "reason"
    assert_kept(rec)
    assert not PurgeLog.objects.exists()


def test_the_director_cannot_purge_held_records_early(now, director):
    held_worker, appealed_worker = hire("held"), hire("appealed")
    under_worker_hold, under_appeal = record(held_worker, now - 20 * DAY), record(appealed_worker, now - 20 * DAY)
    hold(director=director, now=now, worker=held_worker)
    hold(director=director, now=now, incident=under_appeal.incident)
    before = table_counts()

    attempts = [(type(row)._meta.label_lower, row.pk) for row in under_worker_hold.rows() if not isinstance(row, Event)]
    attempts += [
        (type(row)._meta.label_lower, row.pk)
        for row in (under_appeal.incident, under_appeal.report, under_appeal.action, under_appeal.penalty)
    ]
    for label, pk in attempts:
        with pytest.raises(DomainError) as refused:
            records_purge_early(model_label=label, ids=[pk], reason="cleanup", actor=director, now=now)
        assert refused.value.code == "held", label

    assert table_counts() == before


def test_only_evidence_can_be_purged_early(now, director):
    worker = hire("not-evidence")

    with pytest.raises(DomainError) as refused:
        records_purge_early(model_label="workforce.worker", ids=[worker.pk], reason="x", actor=director, now=now)

    assert refused.value.field == "model"
    assert Worker.objects.filter(pk=worker.pk).exists()
