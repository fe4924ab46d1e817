"""The Director's control room at work: the early purge tried as each role and key, holds, interventions,
overturns, settings versions and the charts. Real database, real services, the admin driven by HTTP."""

import json
import re
from datetime import timedelta
from html import unescape

import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from aura_project.errors import DomainError
from governance import charts
from governance.models import (
    AuditRecord,
    DisciplinaryAction,
    GovernanceSettings,
    Hold,
    Incident,
    Penalty,
    PurgeLog,
    ScoreRecord,
    ScoringRun,
)
from governance.selectors import settings_current, worker_standing
from governance.services.discipline import director_intervene
from governance.services.holds import hold_lift, hold_place
from governance.services.overturn import action_overturn
from governance.services.reports import ReportInput, report_submit
from workforce.domain.actor import MANAGER, service_key
from workforce.models import Event, Role, Worker
from workforce.services.tasks import task_register
from workforce.services.workers import worker_hire

TEST_MANAGER = service_key("test-manager", MANAGER)  # the Manager's key, for service calls

PURGEABLE = [AuditRecord, Incident, DisciplinaryAction, ScoreRecord, Penalty]


def admin_url(model_or_obj, view: str, *args) -> str:
    opts = model_or_obj._meta
    if not args and view in ("change", "delete", "history"):
        args = (model_or_obj.pk,)
    # The admin escapes primary keys in its URLs; an action's name is passed as it is.
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[*(quote(a) for a in args[:1]), *args[1:]])


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def run_action(client: Client, model, objs, action: str, **form) -> object:
    """POST an admin action on the changelist, as its intermediate page would once filled in (`apply`)."""
    data = {"action": action, "_selected_action": [str(o.pk) for o in objs], "apply": "yes", **form}
    return client.post(admin_url(model, "changelist"), data, follow=True)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def history_count(obj) -> int:
    return type(obj).history.model.objects.filter(**{type(obj)._meta.pk.attname: obj.pk}).count()


# --- Personas and records ------------------------------------------------------------------------------------


def _staff(roles, username: str, role: str | None) -> User:
    user = User.objects.create_user(username, password=f"{username}-pass-Δ9", is_staff=True)
    if role:
        user.groups.add(roles[role])
    return user


@pytest.fixture
def auditor_staff(roles) -> User:
    """A staff user in the Auditor group: reads incidents and evidence."""
    return _staff(roles, "auditor", Role.AUDITOR.value)


@pytest.fixture
def manager_staff(roles) -> User:
    return _staff(roles, "manager", Role.MANAGER.value)


@pytest.fixture
def plain_staff(roles) -> User:
    """Staff, but in no role."""
    return _staff(roles, "plain", None)


@pytest.fixture
def director_client(director) -> Client:
    return logged_in(director)


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def hallucinating_worker(db, now) -> Worker:
    """A worker that made something up on its first task: a full incident on its record."""
    worker = worker_hire(actor=TEST_MANAGER, model_id="openai/gpt-4o", capabilities=["code"])
    task_register(
        actor=TEST_MANAGER, task_id="task-1", capability="code", priority=1, model_id=worker.model_id, now=now
    )
    report_submit(
        actor=TEST_MANAGER,
        report=ReportInput(task_id="task-1", hallucinated=True, logs=["made it up"]),
        report_id="report-1",
        now=now,
    )
    worker.refresh_from_db()
    return worker


@pytest.fixture
def evidence(hallucinating_worker) -> dict[type, object]:
    """One record of each purgeable kind, all from the same incident."""
    worker = hallucinating_worker
    return {
        AuditRecord: AuditRecord.objects.get(worker=worker),
        Incident: Incident.objects.get(worker=worker),
        DisciplinaryAction: DisciplinaryAction.objects.get(worker=worker, action="STRIKE"),
        ScoreRecord: ScoreRecord.objects.get(worker=worker),
        Penalty: Penalty.objects.get(worker=worker),
    }


def model_id(model) -> str:
    return model.__name__


# --- The early purge, as the Director --------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("model", PURGEABLE, ids=model_id)
def test_the_director_purges_a_chosen_record_with_a_reason_and_the_confirmation(director, evidence, model):
    record = evidence[model]
    assert history_count(record) >= 1

    response = run_action(
        logged_in(director), model, [record], "purge_early", reason="GDPR erasure request #12", confirm="on"
    )

    assert not model.objects.filter(pk=record.pk).exists()
    assert history_count(record) == 0
    log = PurgeLog.objects.get()
    assert (log.actor, log.actor_kind, log.reason) == (director, PurgeLog.Actor.DIRECTOR, "GDPR erasure request #12")
    assert log.counts[model._meta.db_table] == 1
    assert log.counts[model.history.model._meta.db_table] >= 1
    assert any(m.startswith("Purged 1 chosen record.") for m in messages_of(response))


@pytest.mark.django_db
def test_purging_an_incident_takes_its_report_actions_and_penalties_with_their_history(director, evidence):
    incident = evidence[Incident]

    response = run_action(logged_in(director), Incident, [incident], "purge_early", reason="test data", confirm="on")

    for model in (Incident, AuditRecord, DisciplinaryAction, Penalty):
        assert not model.objects.filter(pk=evidence[model].pk).exists(), model
        assert history_count(evidence[model]) == 0, model
    # The incident's penalty move on the reputation goes with it (ScoreRecord.incident).
    assert not ScoreRecord.objects.filter(pk=evidence[ScoreRecord].pk).exists()
    counts = PurgeLog.objects.get().counts
    assert counts["governance_incident"] == counts["governance_auditrecord"] == 1
    message = " ".join(messages_of(response))
    assert "incidents: 1" in message and "historical incidents: 1" in message


@pytest.mark.django_db
def test_the_purge_first_shows_the_chosen_records_a_reason_field_and_the_confirmation(director_client, evidence):
    incident = evidence[Incident]

    page = director_client.post(
        admin_url(Incident, "changelist"), {"action": "purge_early", "_selected_action": [str(incident.pk)]}
    )

    html = page.content.decode()
    assert page.status_code == 200
    assert admin_url(incident, "change") in html
    assert 'name="reason"' in html
    assert "I understand this deletes evidence permanently" in html
    assert Incident.objects.filter(pk=incident.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "form",
    [{"confirm": "on"}, {"reason": "   ", "confirm": "on"}, {"reason": "cleanup"}],
    ids=["no reason", "blank reason", "no confirmation"],
)
def test_a_purge_without_a_reason_or_the_confirmation_deletes_nothing(director_client, evidence, form):
    incident = evidence[Incident]

    page = run_action(director_client, Incident, [incident], "purge_early", **form)

    assert page.status_code == 200
    assert "This field is required." in page.content.decode()
    assert Incident.objects.filter(pk=incident.pk).exists()
    assert history_count(incident) >= 1
    assert not PurgeLog.objects.exists()


@pytest.mark.django_db
def test_a_held_incident_is_not_purged_early(director, director_client, evidence, now):
    incident = evidence[Incident]
    hold_place(kind=Hold.Kind.APPEAL, incident=incident, reason="the worker appeals", actor=director, now=now)

    page = run_action(director_client, Incident, [incident], "purge_early", reason="cleanup", confirm="on")

    assert Incident.objects.filter(pk=incident.pk).exists()
    assert any("under an open hold" in m for m in messages_of(page))
    assert not PurgeLog.objects.exists()


@pytest.mark.django_db
def test_the_director_purges_an_incident_from_its_own_page(director_client, evidence):
    incident = evidence[Incident]
    act = admin_url(incident, "act", incident.pk, "purge_early")

    change_page = director_client.get(admin_url(incident, "change")).content.decode()
    form_page = director_client.get(act)
    done = director_client.post(act, {"apply": "yes", "reason": "duplicate test incident", "confirm": "on"})

    assert act in change_page
    assert "I understand this deletes evidence permanently" in form_page.content.decode()
    assert done.status_code == 302 and done["Location"] == admin_url(Incident, "changelist")
    assert not Incident.objects.filter(pk=incident.pk).exists()


# --- The early purge, as everyone else -----------------------------------------------------------------------

OTHERS = ["viewer", "auditor_staff", "manager_staff", "plain_staff"]


@pytest.mark.django_db
@pytest.mark.parametrize("persona", OTHERS)
@pytest.mark.parametrize("model", PURGEABLE, ids=model_id)
def test_nobody_but_the_director_can_run_the_early_purge(request, evidence, persona, model):
    user = request.getfixturevalue(persona)
    client = logged_in(user)
    record = evidence[model]
    before = history_count(record)

    listing = client.get(admin_url(model, "changelist"))
    crafted = run_action(client, model, [record], "purge_early", reason="I want it gone", confirm="on")
    from_the_page = client.post(
        admin_url(record, "act", record.pk, "purge_early"), {"apply": "yes", "reason": "gone", "confirm": "on"}
    )

    assert "purge_early" not in listing.content.decode()
    assert crafted.status_code in (200, 403)
    assert from_the_page.status_code == 403
    assert model.objects.filter(pk=record.pk).exists()
    assert history_count(record) == before
    assert not PurgeLog.objects.exists()


@pytest.mark.django_db
def test_the_early_purge_is_offered_to_the_director_only(director_client, viewer, evidence):
    assert 'value="purge_early"' in director_client.get(admin_url(Incident, "changelist")).content.decode()
    assert 'value="purge_early"' not in logged_in(viewer).get(admin_url(Incident, "changelist")).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["viewer", "auditor_staff", "manager_staff"])
def test_the_purge_service_refuses_anyone_but_the_director(request, evidence, persona, now):
    incident = evidence[Incident]
    from governance.services.purge import records_purge_early

    with pytest.raises(DomainError, match="only the Director"):
        records_purge_early(
            model_label="governance.incident",
            ids=[incident.pk],
            reason="gone",
            actor=request.getfixturevalue(persona),
            now=now,
        )
    assert Incident.objects.filter(pk=incident.pk).exists()


KEYS = ["director_key", "manager_key", "auditor_key", "viewer_key", "anon_client"]


@pytest.mark.django_db
@pytest.mark.parametrize("key", KEYS)
def test_no_api_key_can_delete_a_record(request, evidence, key):
    client = request.getfixturevalue(key)
    incident = evidence[Incident]
    worker = incident.worker
    routes = [
        f"/api/incidents/{incident.pk}/",
        "/api/incidents/",
        f"/api/workers/{worker.model_id}/record/",
        f"/api/workers/{worker.model_id}/",
        "/api/events/",
    ]
    counts = {model: model.objects.count() for model in (*PURGEABLE, Event, Worker)}

    answers = {route: client.delete(route).status_code for route in routes}

    assert all(code in (401, 403, 405) for code in answers.values()), answers
    assert {model: model.objects.count() for model in counts} == counts


# --- Holds ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_director_places_a_hold_on_a_worker_with_a_reason(director, director_client, hallucinating_worker):
    page = run_action(
        director_client, Worker, [hallucinating_worker], "place_hold", kind="DIRECTOR", reason="legal review"
    )

    hold = Hold.objects.get()
    assert (hold.kind, hold.worker, hold.incident) == (Hold.Kind.DIRECTOR, hallucinating_worker, None)
    assert (hold.reason, hold.created_by, hold.lifted_at) == ("legal review", director, None)
    assert "Placed 1 hold." in messages_of(page)


@pytest.mark.django_db
def test_the_director_records_an_appeal_hold_on_an_incident_from_its_page(director, director_client, evidence):
    incident = evidence[Incident]

    director_client.post(
        admin_url(incident, "act", incident.pk, "place_hold"),
        {"apply": "yes", "kind": "APPEAL", "reason": "the Manager appeals the hallucination finding"},
    )

    hold = Hold.objects.get()
    assert (hold.kind, hold.incident, hold.created_by) == (Hold.Kind.APPEAL, incident, director)


@pytest.mark.django_db
def test_a_hold_without_a_reason_is_not_placed(director_client, hallucinating_worker):
    page = run_action(director_client, Worker, [hallucinating_worker], "place_hold", kind="DIRECTOR", reason="")

    assert "This field is required." in page.content.decode()
    assert not Hold.objects.exists()


@pytest.mark.django_db
def test_the_director_lifts_a_hold_with_a_reason(director, director_client, hallucinating_worker, now):
    hold = hold_place(kind="DIRECTOR", worker=hallucinating_worker, reason="legal review", actor=director, now=now)

    asked = director_client.post(
        admin_url(Hold, "changelist"), {"action": "lift_holds", "_selected_action": [str(hold.pk)]}
    )
    unexplained = run_action(director_client, Hold, [hold], "lift_holds")
    hold.refresh_from_db()
    assert hold.lifted_at is None and unexplained.status_code == 200
    page = run_action(director_client, Hold, [hold], "lift_holds", reason="review closed")

    assert "Lift the holds" in asked.content.decode() and 'name="reason"' in asked.content.decode()
    hold.refresh_from_db()
    assert hold.lifted_by == director and hold.lifted_at is not None and hold.lift_reason == "review closed"
    assert "Lifted 1 hold." in messages_of(page)


@pytest.mark.django_db
def test_lifting_a_lifted_hold_is_refused(director, hallucinating_worker, now):
    hold = hold_place(kind="DIRECTOR", worker=hallucinating_worker, reason="review", actor=director, now=now)
    hold_lift(hold=hold, actor=director, now=now)

    with pytest.raises(DomainError, match="already lifted"):
        hold_lift(hold=hold, actor=director, now=now + timedelta(minutes=1))
    hold.refresh_from_db()
    assert hold.lifted_at == now


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["viewer", "auditor_staff", "manager_staff"])
def test_only_the_director_places_or_lifts_a_hold(request, director, hallucinating_worker, persona, now):
    user = request.getfixturevalue(persona)
    hold = hold_place(kind="DIRECTOR", worker=hallucinating_worker, reason="review", actor=director, now=now)

    with pytest.raises(DomainError, match="only the Director"):
        hold_place(kind="APPEAL", worker=hallucinating_worker, reason="mine", actor=user, now=now)
    with pytest.raises(DomainError, match="only the Director"):
        hold_lift(hold=hold, actor=user, now=now)
    run_action(logged_in(user), Hold, [hold], "lift_holds")
    run_action(logged_in(user), Worker, [hallucinating_worker], "place_hold", kind="APPEAL", reason="mine")

    hold.refresh_from_db()
    assert hold.lifted_at is None
    assert Hold.objects.count() == 1


@pytest.mark.django_db
def test_a_hold_needs_a_worker_or_an_incident_and_a_reason(director, hallucinating_worker, now):
    with pytest.raises(DomainError, match="covers a worker or an incident"):
        hold_place(kind="DIRECTOR", reason="nothing", actor=director, now=now)
    with pytest.raises(DomainError, match="reason"):
        hold_place(kind="DIRECTOR", worker=hallucinating_worker, reason="  ", actor=director, now=now)
    assert not Hold.objects.exists()


# --- Scoring runs --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_director_starts_a_scoring_run_and_it_is_queued_after_commit(
    director_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        page = director_client.post(reverse("admin:governance_scoringrun_start"), follow=True)

    run = ScoringRun.objects.get()
    assert run.trigger == ScoringRun.Trigger.DIRECTOR and run.status == ScoringRun.Status.PENDING
    assert len(queued) == 1
    assert any(run.key in m for m in messages_of(page))
    assert "Score workers now" in director_client.get(admin_url(Worker, "changelist")).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["viewer", "manager_staff"])
def test_only_the_director_starts_a_scoring_run(request, persona):
    client = logged_in(request.getfixturevalue(persona))

    assert client.post(reverse("admin:governance_scoringrun_start")).status_code == 403
    assert "Score workers now" not in client.get(admin_url(ScoringRun, "changelist")).content.decode()
    assert not ScoringRun.objects.exists()


@pytest.mark.django_db
def test_starting_a_scoring_run_takes_a_post(director_client):
    assert director_client.get(reverse("admin:governance_scoringrun_start")).status_code == 405
    assert not ScoringRun.objects.exists()


# --- Interventions -------------------------------------------------------------------------------------------


@pytest.fixture
def steady_worker(db) -> Worker:
    return worker_hire(actor=TEST_MANAGER, model_id="anthropic/claude", capabilities=["code"])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("action", "status"),
    [("worker_suspend", "SUSPENDED"), ("worker_terminate", "TERMINATED"), ("worker_blacklist", "BLACKLISTED")],
)
def test_the_director_intervenes_on_a_worker_with_a_reason(director, director_client, steady_worker, action, status):
    page = run_action(director_client, Worker, [steady_worker], action, reason="caught leaking secrets")

    steady_worker.refresh_from_db()
    assert steady_worker.status == status
    record = DisciplinaryAction.objects.get(worker=steady_worker)
    assert (record.action, record.actor_kind, record.actor) == (action.split("_")[1].upper(), "DIRECTOR", director)
    assert record.reason == "caught leaking secrets"
    assert len(messages_of(page)) == 1


@pytest.mark.django_db
def test_suspending_a_terminated_worker_is_reported_as_refused_not_done(director, director_client, steady_worker):
    director_intervene(worker=steady_worker, action="TERMINATE", reason="budget", actor=director, now=timezone.now())

    page = run_action(director_client, Worker, [steady_worker], "worker_suspend", reason="just in case")

    shown = messages_of(page)
    assert not any(m.startswith("Suspended") for m in shown)
    assert any("Refused" in m and "suspend refused: the worker is terminated" in m for m in shown)
    assert list(DisciplinaryAction.objects.values_list("action", flat=True)) == ["TERMINATE"]


@pytest.mark.django_db
def test_an_intervention_without_a_reason_changes_nothing(director_client, steady_worker):
    page = run_action(director_client, Worker, [steady_worker], "worker_terminate", reason="")

    steady_worker.refresh_from_db()
    assert "This field is required." in page.content.decode()
    assert steady_worker.status == Worker.Status.ACTIVE
    assert not DisciplinaryAction.objects.exists()


@pytest.mark.django_db
def test_the_director_rehires_a_terminated_worker_on_probation_from_its_page(director, director_client, steady_worker):
    director_intervene(worker=steady_worker, action="TERMINATE", reason="budget", actor=director, now=timezone.now())
    act = admin_url(steady_worker, "act", steady_worker.pk, "worker_rehire")

    offered = director_client.get(admin_url(steady_worker, "change")).content.decode()
    done = director_client.post(act, {"apply": "yes", "reason": "budget restored"})

    steady_worker.refresh_from_db()
    assert act in offered
    assert admin_url(steady_worker, "act", steady_worker.pk, "worker_suspend") not in offered
    assert done.status_code == 302 and done["Location"] == admin_url(steady_worker, "change")
    assert (steady_worker.status, steady_worker.tier) == (Worker.Status.PROBATION, Worker.Tier.JUNIOR)


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["BLACKLISTED", "ACTIVE"])
def test_only_a_terminated_worker_is_rehired_and_a_blacklisted_one_never(
    director, director_client, steady_worker, status
):
    if status == "BLACKLISTED":
        director_intervene(worker=steady_worker, action="BLACKLIST", reason="fraud", actor=director, now=timezone.now())

    page = run_action(director_client, Worker, [steady_worker], "worker_rehire", reason="second chance")

    steady_worker.refresh_from_db()
    assert steady_worker.status == status
    assert not DisciplinaryAction.objects.filter(action="REHIRE").exists()
    assert any(m.startswith("Refused: anthropic/claude:") for m in messages_of(page))


@pytest.mark.django_db
@pytest.mark.parametrize("persona", OTHERS)
def test_nobody_but_the_director_intervenes(request, steady_worker, persona):
    client = logged_in(request.getfixturevalue(persona))

    run_action(client, Worker, [steady_worker], "worker_blacklist", reason="I say so")
    page = client.post(
        admin_url(steady_worker, "act", steady_worker.pk, "worker_blacklist"), {"apply": "yes", "reason": "so"}
    )

    steady_worker.refresh_from_db()
    assert page.status_code == 403
    assert steady_worker.status == Worker.Status.ACTIVE
    assert not DisciplinaryAction.objects.exists()


# --- Overturns -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_overturning_a_suspension_reinstates_the_worker(director, director_client, steady_worker):
    (suspension,) = director_intervene(
        worker=steady_worker, action="SUSPEND", reason="suspected drift", actor=director, now=timezone.now()
    )
    events_before = Event.objects.count()

    page = run_action(director_client, DisciplinaryAction, [suspension], "overturn_actions", reason="drift disproved")

    steady_worker.refresh_from_db()
    overturn = DisciplinaryAction.objects.get(action="OVERTURN")
    assert (overturn.overturns, overturn.actor, overturn.actor_kind) == (suspension, director, "DIRECTOR")
    assert (overturn.reason, overturn.worker, overturn.policy_version) == (
        "drift disproved",
        steady_worker,
        settings_current().version,
    )
    assert (steady_worker.status, steady_worker.suspended_until) == (Worker.Status.ACTIVE, None)
    kinds = list(Event.objects.order_by("id").values_list("kind", flat=True)[events_before:])
    assert kinds == ["action.applied", "worker.status_changed"]  # the overturn, then what it changed
    assert Event.objects.get(kind="action.applied", payload__action="OVERTURN").payload["overturns"] == suspension.pk
    assert "Overturned 1 action." in messages_of(page)


@pytest.mark.django_db
def test_overturning_the_last_standing_action_overturns_the_incident(director, evidence, now):
    strike, incident = evidence[DisciplinaryAction], evidence[Incident]
    worker = incident.worker
    s = settings_current()
    assert worker_standing(worker=worker, now=now, s=s)["active_strikes"] == 1

    action_overturn(action=strike, reason="the log was truncated, not invented", actor=director, now=now)

    incident.refresh_from_db()
    assert (incident.status, incident.resolved_at) == (Incident.Status.OVERTURNED, now)
    assert incident.evidence == ["made it up"]
    assert worker_standing(worker=worker, now=now, s=s)["active_strikes"] == 0
    assert incident.history.count() == 2


@pytest.mark.django_db
def test_an_incident_with_another_standing_action_stays_actioned(director, evidence, now):
    incident = evidence[Incident]
    worker = incident.worker
    other = DisciplinaryAction.objects.create(
        worker=worker,
        incident=incident,
        action="WARNING",
        reason="second finding",
        actor_kind="HR",
        policy_version=1,
        created_at=now,
    )

    action_overturn(action=evidence[DisciplinaryAction], reason="strike disproved", actor=director, now=now)

    incident.refresh_from_db()
    assert incident.status == Incident.Status.ACTIONED and incident.resolved_at is None
    action_overturn(action=other, reason="warning disproved too", actor=director, now=now)
    incident.refresh_from_db()
    assert incident.status == Incident.Status.OVERTURNED


@pytest.mark.django_db
def test_overturning_a_suspension_leaves_a_later_termination_standing(director, steady_worker):
    t0 = timezone.now()
    (suspension,) = director_intervene(worker=steady_worker, action="SUSPEND", reason="a", actor=director, now=t0)
    director_intervene(worker=steady_worker, action="TERMINATE", reason="b", actor=director, now=t0 + timedelta(1))

    action_overturn(action=suspension, reason="suspension was wrong", actor=director, now=t0 + timedelta(2))

    steady_worker.refresh_from_db()
    assert steady_worker.status == Worker.Status.TERMINATED


@pytest.mark.django_db
def test_overturning_a_termination_reinstates_the_worker(director, steady_worker):
    t0 = timezone.now()
    (termination,) = director_intervene(worker=steady_worker, action="TERMINATE", reason="a", actor=director, now=t0)

    action_overturn(action=termination, reason="wrong worker", actor=director, now=t0 + timedelta(hours=1))

    steady_worker.refresh_from_db()
    assert steady_worker.status == Worker.Status.ACTIVE


@pytest.mark.django_db
def test_an_overturn_or_an_overturned_action_cannot_be_overturned(director, director_client, evidence, now):
    strike = evidence[DisciplinaryAction]
    overturn = action_overturn(action=strike, reason="disproved", actor=director, now=now)

    with pytest.raises(DomainError, match="already overturned"):
        action_overturn(action=strike, reason="again", actor=director, now=now)
    with pytest.raises(DomainError, match="cannot itself be overturned"):
        action_overturn(action=overturn, reason="undo", actor=director, now=now)
    page = run_action(director_client, DisciplinaryAction, [strike, overturn], "overturn_actions", reason="again")
    assert DisciplinaryAction.objects.filter(action="OVERTURN").count() == 1
    assert any(m.startswith("Refused:") for m in messages_of(page))
    offered = director_client.get(admin_url(strike, "change")).content.decode()
    assert admin_url(strike, "act", strike.pk, "overturn_actions") not in offered


@pytest.mark.django_db
def test_an_overturn_needs_the_director_and_a_reason(director, viewer, evidence, now):
    strike = evidence[DisciplinaryAction]

    with pytest.raises(DomainError, match="only the Director"):
        action_overturn(action=strike, reason="mine", actor=viewer, now=now)
    with pytest.raises(DomainError, match="reason"):
        action_overturn(action=strike, reason=" ", actor=director, now=now)
    run_action(logged_in(viewer), DisciplinaryAction, [strike], "overturn_actions", reason="mine")
    assert not DisciplinaryAction.objects.filter(action="OVERTURN").exists()


# --- Settings versions ---------------------------------------------------------------------------------------


def settings_form(current: GovernanceSettings, **changes) -> dict:
    """The add form as the Director fills it in: plain values, and one field per weight, penalty and budget, per
    detector's mode and threshold and per escalated tier's minutes (as they apply: the defaults filled in)."""
    from governance.admin import KEYED_FIELDS, _detector_values

    prefixes = {"weights": "weight", "penalty_points": "points", "tier_budgets": "budget"}
    data = {}
    for field in current._meta.concrete_fields:
        if field.name in ("version", "created_by", "created_at", *KEYED_FIELDS):
            continue
        value = getattr(current, field.name)
        if field.name in prefixes:
            data |= {f"{prefixes[field.name]}_{key}": item for key, item in value.items()}
        else:
            data[field.name] = value
    for name, values in _detector_values(current).items():
        data |= {field: values[key] for key, field in KEYED_FIELDS[name].items()}
    return data | changes


@pytest.mark.django_db
def test_the_add_form_starts_from_the_version_in_force(director_client):
    current = GovernanceSettings.objects.create(promotion_threshold=85, note="stricter")

    html = director_client.get(admin_url(GovernanceSettings, "add")).content.decode()

    assert re.search(r'name="promotion_threshold" value="85"', html)
    assert current.version == settings_current().version


@pytest.mark.django_db
def test_the_director_publishes_a_new_settings_version_and_the_old_one_stays(director, director_client):
    old = settings_current()
    old_promotion = old.promotion_threshold

    response = director_client.post(
        admin_url(GovernanceSettings, "add"), settings_form(old, promotion_threshold=90, note="promote fewer")
    )

    assert response.status_code == 302
    new = settings_current()
    assert new.version > old.version
    assert (new.promotion_threshold, new.note, new.created_by) == (90, "promote fewer", director)
    old.refresh_from_db()
    assert old.promotion_threshold == old_promotion
    assert new.history.get().history_user == director


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"note": ""}, "This field is required."),
        ({"promotion_threshold": 40}, "Thresholds must rise"),
        ({"weight_confidence": "0.5"}, "Weights must add up to 1"),
        ({"weight_accuracy": ""}, "This field is required."),
        ({"points_timeout": "5"}, "Ensure this value is less than or equal to 0."),
        ({"retention_days": 30}, "Retention must cover"),
    ],
    ids=[
        "no note",
        "thresholds out of order",
        "weights not adding up",
        "a weight left out",
        "a penalty that rewards",
        "retention shorter than a strike",
    ],
)
def test_settings_that_would_break_the_rules_are_not_published(director_client, changes, error):
    old = settings_current()
    form = settings_form(old, note="try") | changes

    response = director_client.post(admin_url(GovernanceSettings, "add"), form)

    assert response.status_code == 200
    assert error in response.content.decode()
    assert settings_current().version == old.version


@pytest.mark.django_db
def test_a_published_version_cannot_be_edited_and_a_viewer_cannot_publish(director_client, viewer):
    current = settings_current()
    form = settings_form(current, promotion_threshold=90, note="sneaky")

    assert director_client.post(admin_url(current, "change"), form).status_code == 403
    assert logged_in(viewer).post(admin_url(GovernanceSettings, "add"), form).status_code == 403
    current.refresh_from_db()
    assert current.promotion_threshold == 80
    assert GovernanceSettings.objects.count() == 1


# --- Charts (unfold's Chart.js components, fed by governance.charts) -------------------------------------------


def _chart(html: str, section: str) -> dict:
    """The Chart.js data of the chart inside the element with id `section`."""
    block = html.partition(f'id="{section}"')[2]
    raw = re.search(r'<canvas class="chart"[^>]*data-value="([^"]*)"', block).group(1)
    return json.loads(unescape(raw))


def test_the_reputation_line_has_one_point_per_value_and_a_level_line_per_threshold():
    data = charts.reputation_line([60, 63, 55, 70], labels=["a", "b", "c", "d"], guides=[("promotion", 80)])

    reputation, promotion = data["datasets"]
    assert data["labels"] == ["a", "b", "c", "d"]
    assert reputation["data"] == [60, 63, 55, 70]
    assert promotion["label"] == "promotion 80" and promotion["data"] == [80, 80, 80, 80]
    assert promotion["borderDash"]  # dashed, unlike the reputation


def test_reputations_fall_into_ten_point_buckets_with_100_in_the_top_one():
    buckets = charts.reputation_buckets({0: 1, 9: 2, 10: 3, 55: 1, 99: 1, 100: 4})

    assert len(buckets) == 10
    assert buckets[0] == ("0–9", 3)
    assert buckets[1] == ("10–19", 3)
    assert buckets[5] == ("50–59", 1)
    assert buckets[9] == ("90–100", 5)
    assert sum(n for _, n in buckets) == 12


def test_the_bar_chart_has_one_bar_per_label_in_order():
    data = charts.bar_chart([("a", 2), ("b", 4), ("c", 0)], label="Workers")

    assert data["labels"] == ["a", "b", "c"]
    assert data["datasets"][0]["data"] == [2, 4, 0]


@pytest.mark.django_db
def test_chart_labels_are_escaped_in_the_page(director_client):
    Worker.objects.create(model_id="w-1", reputation=50)
    html = director_client.get(admin_url(Worker, "changelist")).content.decode()

    canvas = re.search(r'<canvas class="chart"[^>]*>', html).group(0)
    assert "&quot;labels&quot;" in canvas  # the JSON is escaped into its attribute, never raw markup
    assert '"labels"' not in canvas


@pytest.mark.django_db
def test_the_worker_page_charts_its_last_fifty_reputations(director_client, steady_worker):
    start = timezone.now() - timedelta(days=60)
    ScoreRecord.objects.bulk_create(
        ScoreRecord(
            worker=steady_worker,
            score=50 + i % 30,
            previous_reputation=60,
            reputation=40 + i,
            action="NONE",
            metrics={},
            settings_version=1,
            run_key=f"run:{i}",
            created_at=start + timedelta(days=i),
        )
        for i in range(55)
    )

    html = director_client.get(admin_url(steady_worker, "change")).content.decode()

    data = _chart(html, "reputation-trend")
    reputation = data["datasets"][0]["data"]
    assert reputation == list(range(45, 95))  # the newest fifty, oldest first: 40-44 are left out
    assert len(data["labels"]) == 50
    guides = {dataset["label"] for dataset in data["datasets"][1:]}
    assert guides == {"promotion 80", "warning 50", "termination 30"}


@pytest.mark.django_db
def test_the_worker_list_charts_the_fleet_by_reputation_and_by_status(director, director_client):
    for i, reputation in enumerate([5, 15, 15, 60, 100]):
        Worker.objects.create(model_id=f"w{i}", reputation=reputation)
    director_intervene(
        worker=Worker.objects.get(model_id="w0"), action="SUSPEND", reason="r", actor=director, now=timezone.now()
    )

    html = director_client.get(admin_url(Worker, "changelist")).content.decode()

    histogram = _chart(html, "fleet-reputation")
    statuses = _chart(html, "fleet-status")
    by_bucket = dict(zip(histogram["labels"], histogram["datasets"][0]["data"], strict=True))
    by_status = dict(zip(statuses["labels"], statuses["datasets"][0]["data"], strict=True))
    assert len(by_bucket) == 10
    assert (by_bucket["10–19"], by_bucket["90–100"]) == (2, 1)
    assert list(by_status) == [label for _, label in Worker.Status.choices]
    assert (by_status["Active"], by_status["Suspended"]) == (4, 1)


@pytest.mark.django_db
def test_a_viewer_sees_the_charts_but_no_director_tools(viewer, steady_worker):
    client = logged_in(viewer)

    changelist = client.get(admin_url(Worker, "changelist")).content.decode()
    change = client.get(admin_url(steady_worker, "change")).content.decode()

    assert 'id="fleet-reputation"' in changelist and "Score workers now" not in changelist
    assert 'id="reputation-trend"' in change and "/act/" not in change


# --- The spike guard's review queue --------------------------------------------------------------------------


@pytest.fixture
def held_suspension(db, steady_worker, now):
    from governance.models import PendingSanction, Spike

    spike = Spike.objects.create(scope="fleet", figures={}, settings_version=1, started_at=now, last_seen_at=now)
    return PendingSanction.objects.create(
        worker=steady_worker,
        spike=spike,
        action="SUSPEND",
        reason="repeat scope_drift",
        actor_kind="HR",
        settings_version=1,
        created_at=now,
    )


@pytest.mark.django_db
def test_the_director_confirms_a_held_suspension_from_the_review_queue(director, director_client, held_suspension):
    from governance.models import PendingSanction

    page = run_action(
        director_client, PendingSanction, [held_suspension], "confirm_sanctions", reason="the logs show drift"
    )

    held_suspension.refresh_from_db()
    assert held_suspension.status == "CONFIRMED" and held_suspension.decided_by == director
    assert Worker.objects.get(pk=held_suspension.worker_id).status == Worker.Status.SUSPENDED
    assert held_suspension.applied.actor == director
    assert "Confirmed 1 held sanction." in messages_of(page)


@pytest.mark.django_db
def test_a_viewer_is_not_offered_the_review_actions(viewer, held_suspension):
    from governance.models import PendingSanction

    page = logged_in(viewer).get(admin_url(PendingSanction, "changelist"))
    assert page.status_code == 200
    assert "confirm_sanctions" not in page.content.decode()
    run_action(logged_in(viewer), PendingSanction, [held_suspension], "confirm_sanctions", reason="nope")
    held_suspension.refresh_from_db()
    assert held_suspension.status == "PENDING"
