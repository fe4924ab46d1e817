"""A hold names who placed it and who lifted it, and why, on its own row: a Director's service key has no user for
the user columns, so the actor's label is the record (governance 0018)."""

from datetime import timedelta
from importlib import import_module

import pytest
from django.apps import apps
from django.utils import timezone

from governance.models import Hold
from governance.services.director import director_hold_place, director_hold_release
from governance.services.holds import hold_lift, hold_place
from workforce.domain.actor import DIRECTOR, service_key
from workforce.models import Event, Worker

pytestmark = pytest.mark.django_db

OPS_SCRIPT = service_key("ops-script", DIRECTOR)  # a Director's service key, as the API turns it into an Actor
backfill = import_module("governance.migrations.0018_hold_actor_labels_policy_severity_range").backfill_hold_labels


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def worker() -> Worker:
    return Worker.objects.create(model_id="held-model", capabilities=["code"])


def test_a_hold_placed_and_released_by_a_director_key_names_the_key_and_the_reason_on_the_row(worker, now):
    placed = director_hold_place(
        kind="DIRECTOR", model_id=worker.model_id, reason="legal review", actor=OPS_SCRIPT, now=now
    )
    released = director_hold_release(hold_id=placed["id"], reason="  review closed  ", actor=OPS_SCRIPT, now=now)

    hold = Hold.objects.get(pk=placed["id"])
    assert (hold.created_by, hold.created_by_label) == (None, "key:ops-script")
    assert (hold.lifted_by, hold.lifted_by_label, hold.lift_reason) == (None, "key:ops-script", "review closed")
    assert (placed["created_by"], placed["lifted_by"], placed["lift_reason"]) == ("key:ops-script", None, None)
    assert (released["lifted_by"], released["lift_reason"]) == ("key:ops-script", "review closed")
    # The inbox says the same as the row.
    lifted = Event.objects.get(kind="hold.lifted", payload__hold=hold.pk)
    assert (lifted.payload["actor"], lifted.payload["reason"]) == ("key:ops-script", "review closed")


def test_a_hold_placed_and_lifted_by_the_director_in_person_names_the_user_twice(director, worker, now):
    hold = hold_place(kind="APPEAL", worker=worker, reason="the worker appeals", actor=director, now=now)
    hold = hold_lift(hold=hold, actor=director, now=now + timedelta(minutes=1), reason="appeal upheld")

    hold.refresh_from_db()
    assert (hold.created_by, hold.created_by_label) == (director, "user:director")
    assert (hold.lifted_by, hold.lifted_by_label, hold.lift_reason) == (director, "user:director", "appeal upheld")


def test_a_hold_placed_by_one_director_and_lifted_by_another_names_each(director, worker, now):
    hold = hold_place(kind="DIRECTOR", worker=worker, reason="legal review", actor=director, now=now)
    hold_lift(hold=hold, actor=OPS_SCRIPT, now=now, reason="cleared")

    hold.refresh_from_db()
    assert (hold.created_by_label, hold.lifted_by_label) == ("user:director", "key:ops-script")
    assert (hold.created_by, hold.lifted_by) == (director, None)


def test_the_api_answers_with_who_placed_and_who_released_the_hold(director_key, worker):
    placed = director_key.post(
        "/api/director/holds/", {"reason": "appeal lodged", "model_id": worker.model_id}, format="json"
    )
    assert placed.status_code == 201, placed.content
    assert (placed.json()["created_by"], placed.json()["lifted_by"]) == ("key:director-key", None)

    released = director_key.post(
        f"/api/director/holds/{placed.json()['id']}/release/", {"reason": "appeal decided"}, format="json"
    )

    assert released.status_code == 200, released.content
    body = released.json()
    assert (body["created_by"], body["lifted_by"], body["lift_reason"]) == (
        "key:director-key",
        "key:director-key",
        "appeal decided",
    )
    hold = Hold.objects.get(pk=body["id"])
    assert (hold.lifted_by_label, hold.lift_reason) == ("key:director-key", "appeal decided")


def test_the_migration_backfills_labels_from_the_inbox_and_else_from_the_user(director, worker, now):
    by_key = Hold.objects.create(kind="DIRECTOR", worker=worker, reason="r", created_at=now, lifted_at=now)
    by_user = Hold.objects.create(
        kind="APPEAL", worker=worker, reason="r", created_by=director, created_at=now, lifted_at=now, lifted_by=director
    )
    still_open = Hold.objects.create(kind="APPEAL", worker=worker, reason="r", created_by=director, created_at=now)
    # What the hold services told the inbox before the row had its own labels.
    Event.objects.create(kind="hold.placed", payload={"hold": by_key.pk, "actor": "key:ops"}, created_at=now)
    Event.objects.create(
        kind="hold.lifted", payload={"hold": by_key.pk, "actor": "key:ops", "reason": "done"}, created_at=now
    )

    backfill(apps, None)

    rows = {
        h.pk: (h.created_by_label, h.lifted_by_label, h.lift_reason)
        for h in Hold.objects.filter(pk__in=[by_key.pk, by_user.pk, still_open.pk])
    }
    assert rows == {
        by_key.pk: ("key:ops", "key:ops", "done"),
        by_user.pk: ("user:director", "user:director", ""),
        still_open.pk: ("user:director", "", ""),
    }
