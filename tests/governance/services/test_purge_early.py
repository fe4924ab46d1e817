"""The Director's early purge keeps no copy of what it deletes, and no hold placed meanwhile is overtaken.

The incidents are made through the real report pipeline (test_purge_safety's builder), so they carry the
Manager events production writes.
"""

import threading
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from governance.models import AuditRecord, Hold, ScoreRecord
from governance.services import purge as purge_module
from governance.services.holds import hold_place
from governance.services.purge import records_purge_early
from tests.governance.services.test_purge_safety import hallucinate, hire
from workforce.models import Event, Task

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


@pytest.fixture
def now() -> datetime:
    return timezone.now().replace(microsecond=0)


def copies_of(report: AuditRecord) -> set[int]:
    """The Manager events that copy this report's incident: incident.opened with its violations, action.applied
    with each action's reason, and the task's reassignment whose reason lists the violations."""
    incident = report.incident
    naming = Event.objects.filter(payload__incident_id=str(incident.pk))
    repair = Event.objects.filter(kind="task.reassigned", task_id=report.task.task_id, created_at=incident.reported_at)
    return set(naming.values_list("pk", flat=True)) | set(repair.values_list("pk", flat=True))


def test_purging_an_incident_early_deletes_the_manager_events_that_copy_it(now, director):
    worker = hire("copied")
    hire("spare")
    purged, kept = hallucinate(worker, now - 20 * DAY), hallucinate(worker, now - 19 * DAY)
    copies = copies_of(purged)
    assert set(Event.objects.filter(pk__in=copies).values_list("kind", flat=True)) == {
        "incident.opened",
        "action.applied",
        "task.reassigned",
    }
    others = set(Event.objects.exclude(pk__in=copies).values_list("pk", flat=True))

    log = records_purge_early(
        model_label="governance.incident", ids=[purged.incident_id], reason="wrongly opened", actor=director, now=now
    )

    assert set(Event.objects.values_list("pk", flat=True)) == others
    assert log.counts[Event._meta.db_table] == len(copies)
    assert copies_of(kept) <= others  # the other incident's copies stay
    assert not Event.objects.filter(payload__incident_id=str(purged.incident_id)).exists()


def test_purging_an_action_early_deletes_its_action_applied_event_only(now, director):
    worker = hire("suspended")
    hire("spare")
    hallucinate(worker, now - 20 * DAY)
    report = hallucinate(worker, now - 19 * DAY)  # a repeat: a STRIKE and a SUSPEND
    suspend = report.incident.actions.get(action="SUSPEND")
    applied = Event.objects.get(kind="action.applied", payload__action_id=suspend.pk)
    others = set(Event.objects.exclude(pk=applied.pk).values_list("pk", flat=True))

    records_purge_early(
        model_label="governance.disciplinaryaction", ids=[suspend.pk], reason="issued in error", actor=director, now=now
    )

    assert set(Event.objects.values_list("pk", flat=True)) == others


def test_purging_a_score_early_deletes_the_event_naming_it_and_no_event_naming_another_id(now, director):
    worker = hire("scored")

    def score(at) -> ScoreRecord:
        return ScoreRecord.objects.create(
            worker=worker, score=40, previous_reputation=60, reputation=54, action="NONE", metrics={},
            settings_version=1, run_key=f"api:{at:%s}", created_at=at,
        )  # fmt: skip

    purged, kept = score(now - 20 * DAY), score(now - 19 * DAY)

    def recorded(score_id) -> Event:
        payload = {"score": 40, "reputation": 54, "score_id": score_id}
        return Event.objects.create(kind="score.recorded", model_id="scored", payload=payload, created_at=now)

    naming, naming_the_other, naming_as_text = recorded(purged.pk), recorded(kept.pk), recorded(str(purged.pk))

    log = records_purge_early(
        model_label="governance.scorerecord", ids=[purged.pk], reason="bad metrics", actor=director, now=now
    )

    assert set(Event.objects.values_list("pk", flat=True)) == {naming_the_other.pk, naming_as_text.pk}
    assert not Event.objects.filter(pk=naming.pk).exists()
    assert log.counts[Event._meta.db_table] == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_hold_placed_while_the_director_purges_early_waits_for_the_purge(now, director, monkeypatch):
    worker = hire("contested")
    task = Task.objects.create(task_id="contested/task", capability="code")
    report = AuditRecord.objects.create(
        report_id="contested", request_hash="0" * 64, task=task, worker=worker, settings_version=1,
        outcome=AuditRecord.Outcome.CLEAN, received_at=now - 20 * DAY,
    )  # fmt: skip
    placed: dict[str, object] = {}

    def place_hold() -> None:
        try:
            placed["hold"] = hold_place(
                kind=Hold.Kind.DIRECTOR, worker=worker, reason="legal asked", actor=director, now=now
            )
        finally:
            connection.close()

    holder = threading.Thread(target=place_hold)
    real_permit = purge_module.purge_permit

    @contextmanager
    def permit_once_a_hold_is_being_placed(**kwargs):
        # The purge has checked for holds and deleted nothing yet: a hold on the worker is placed now. It commits
        # at once unless the purge holds the rows the hold names; then it waits for the purge to end.
        holder.start()
        holder.join(timeout=1)
        placed["during the purge"] = not holder.is_alive()
        with real_permit(**kwargs) as permit:
            yield permit

    monkeypatch.setattr(purge_module, "purge_permit", permit_once_a_hold_is_being_placed)

    try:
        records_purge_early(
            model_label="governance.auditrecord", ids=[report.pk], reason="cleanup", actor=director, now=now
        )
    finally:
        holder.join(timeout=10)

    # Had the hold committed while the purge went on, the held worker's report would have been purged under it.
    assert placed["during the purge"] is False
    assert not holder.is_alive() and "hold" in placed  # placed after the purge, on a worker that still exists
    assert not AuditRecord.objects.filter(pk=report.pk).exists()
