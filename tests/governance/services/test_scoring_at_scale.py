"""A scoring run writes its history rows in SQL, copied from the rows it wrote: they must match what
django-simple-history's bulk helpers wrote, on every backend, including one whose bulk insert returns no ids
(SQLite before 3.35)."""

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from governance.models import ScoreRecord
from tests.governance.services.test_scoring_runs import fleet, run_at
from workforce.models import Worker

pytestmark = pytest.mark.django_db

HistoricalScoreRecord = ScoreRecord.history.model
HistoricalWorker = Worker.history.model


@pytest.fixture
def t0() -> datetime:
    return timezone.now().replace(microsecond=0)


def test_each_score_and_each_worker_moved_gets_one_history_row_naming_the_accountant_and_the_run(t0):
    workers = fleet("copied", 6, t0 - timedelta(hours=1))

    run = run_at(t0, key="copied")

    scores = {s.pk: s for s in ScoreRecord.objects.all()}
    history = list(HistoricalScoreRecord.objects.all())
    assert sorted(h.id for h in history) == sorted(scores)
    for h in history:
        score = scores[h.id]
        assert (h.history_type, h.history_change_reason, h.history_actor) == (
            "+",
            f"scoring run {run.key}",
            "system:accountant",
        )
        assert h.history_user_id is None
        assert (h.worker_id, h.score, h.reputation, h.metrics, h.basis) == (
            score.worker_id, score.score, score.reputation, score.metrics, score.basis
        )  # fmt: skip
    moved = HistoricalWorker.objects.filter(history_change_reason=f"scoring run {run.key}")
    assert sorted(moved.values_list("id", flat=True)) == sorted(w.pk for w in workers)
    for h in moved:
        worker = Worker.objects.get(pk=h.id)
        assert (h.history_type, h.history_actor, h.history_user_id) == ("~", "system:accountant", None)
        assert (h.reputation, h.scored_runs, h.evidence_scored_until) == (
            worker.reputation, worker.scored_runs, worker.evidence_scored_until
        )  # fmt: skip


def test_scores_get_their_history_rows_when_the_bulk_insert_returns_no_ids(t0, monkeypatch):
    monkeypatch.setattr(type(connection.features), "can_return_rows_from_bulk_insert", False)
    fleet("no-ids", 4, t0 - timedelta(hours=1))

    run_at(t0, key="no-ids")

    assert ScoreRecord.objects.count() == 4
    assert set(HistoricalScoreRecord.objects.values_list("id", flat=True)) == set(
        ScoreRecord.objects.values_list("pk", flat=True)
    )
