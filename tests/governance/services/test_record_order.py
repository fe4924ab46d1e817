"""A worker's record replays in the order its actions took effect, not their times' order: each caller reads the
clock and then queues for the worker's row lock, so an action stamped earlier can land later, and then it is the
one that holds. Found by tests/integration/test_concurrent_interventions.py; made deterministic here."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.models import DisciplinaryAction
from governance.selectors import worker_recorded_actions
from governance.services.discipline import director_intervene
from governance.services.overturn import action_overturn
from workforce.domain.lifecycle import RecordedAction, status_from_record
from workforce.models import Worker

pytestmark = pytest.mark.django_db


def test_an_action_stamped_earlier_but_applied_later_is_the_one_the_replay_keeps():
    t0 = timezone.now()
    applied = [
        RecordedAction("SUSPEND", at=t0 + timedelta(seconds=2), until=t0 + timedelta(days=1)),
        RecordedAction("REINSTATE", at=t0 + timedelta(seconds=1)),  # read the clock first, got the lock second
    ]

    assert status_from_record(applied, now=t0 + timedelta(seconds=3)) == ("ACTIVE", None, None)


def test_overturning_a_warning_keeps_the_reinstatement_that_landed_after_a_later_stamped_suspension(director):
    t0 = timezone.now()
    worker = Worker.objects.create(model_id="order/w", capabilities=["code"])
    director_intervene(worker=worker, action="SUSPEND", reason="checking", actor=director,
                       now=t0 + timedelta(seconds=2), until=t0 + timedelta(days=1))  # fmt: skip
    director_intervene(worker=worker, action="REINSTATE", reason="checked", actor=director,
                       now=t0 + timedelta(seconds=1))  # fmt: skip
    warning = director_intervene(worker=worker, action="WARNING", reason="sloppy", actor=director,
                                 now=t0 + timedelta(seconds=3))[0]  # fmt: skip
    assert [a.action for a in worker_recorded_actions(worker=worker)][:2] == ["SUSPEND", "REINSTATE"]

    action_overturn(action=warning, reason="it was fine", actor=director, now=t0 + timedelta(seconds=4))

    worker.refresh_from_db()
    assert (worker.status, worker.suspended_until) == ("ACTIVE", None)
    assert DisciplinaryAction.objects.filter(worker=worker, action="OVERTURN").count() == 1
