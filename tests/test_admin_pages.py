"""The control room's pages on unfold, as the Director reads them: the incident list and page, overturned actions,
the worker page's record, capabilities as a list, the settings editor and its diff, CSV exports, the halt, and
what each role sees in the sidebar and on the indexes. Real database, real services, the admin driven by HTTP."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from governance.models import DisciplinaryAction, GovernanceSettings, Incident, PendingSanction, Spike
from governance.selectors import settings_current
from governance.services.holds import hold_place
from governance.services.overturn import action_overturn
from governance.services.reports import ReportInput, report_submit
from governance.services.settings import settings_publish
from tests.test_admin_actions import TEST_MANAGER, _staff, admin_url, logged_in
from workforce.models import Event, Role, Worker
from workforce.selectors import system_mode
from workforce.services.tasks import task_register
from workforce.services.workers import worker_hire

pytestmark = pytest.mark.django_db


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def director_client(director):
    return logged_in(director)


def _violate(worker: Worker, task_id: str, now, **report) -> Incident:
    task_register(actor=TEST_MANAGER, task_id=task_id, capability="code", priority=1, model_id=worker.model_id, now=now)
    report_submit(
        actor=TEST_MANAGER, report=ReportInput(task_id=task_id, **report), report_id=f"report-{task_id}", now=now
    )
    return Incident.objects.get(task__task_id=task_id)


@pytest.fixture
def offender(now) -> Worker:
    """A worker with a hallucination (logs kept as evidence) and a timeout on its record."""
    worker = worker_hire(actor=TEST_MANAGER, model_id="openai/gpt-4o", capabilities=["code"])
    _violate(worker, "task-1", now, hallucinated=True, logs=["step 1: read the brief", "step 2: invented a source"])
    _violate(worker, "task-2", now + timedelta(minutes=1), scope_drift=True, logs=[{"level": "error", "msg": "slow"}])
    return worker


# --- Incidents -----------------------------------------------------------------------------------------------


def test_the_incident_list_shows_violation_type_status_and_a_short_id(director_client, offender):
    incident = Incident.objects.get(task__task_id="task-1")
    strongest = DisciplinaryAction.objects.filter(incident=incident).order_by("-created_at", "-id").first().action

    html = director_client.get(admin_url(Incident, "changelist")).content.decode()

    assert "hallucination" in html and "scope_drift" in html
    assert f"Actioned: {strongest}" in html
    full = str(incident.pk)
    assert re.search(rf'<span class="aura-id[^"]*" title="{full}">{full[:8]}</span>', html)
    assert f">{full}<" not in html  # the full UUID only on hover


def test_an_incident_held_for_review_or_overturned_says_so(director, director_client, offender, now):
    held, overturned = Incident.objects.order_by("reported_at")
    spike = Spike.objects.create(scope="fleet", figures={}, settings_version=1, started_at=now, last_seen_at=now)
    PendingSanction.objects.create(
        worker=offender,
        incident=held,
        spike=spike,
        action="SUSPEND",
        reason="held",
        actor_kind="HR",
        settings_version=1,
        created_at=now,
    )
    for action in DisciplinaryAction.objects.filter(incident=overturned):
        action_overturn(action=action, reason="the brief allowed it", actor=director, now=now)

    html = director_client.get(admin_url(Incident, "changelist")).content.decode()

    assert "Awaiting review" in html and "Overturned" in html


def test_the_incident_page_lists_its_evidence_entries_not_raw_json(director_client, offender):
    first = Incident.objects.get(task__task_id="task-1")
    second = Incident.objects.get(task__task_id="task-2")

    page = director_client.get(admin_url(first, "change")).content.decode()
    structured = director_client.get(admin_url(second, "change")).content.decode()

    evidence = re.search(r'<ol class="aura-evidence.*?</ol>', page, re.S).group(0)
    assert re.findall(r"<li[^>]*>(.*?)</li>", evidence) == ["step 1: read the brief", "step 2: invented a source"]
    # A structured entry reads as its keys and values (PostgreSQL's jsonb may order the keys its own way).
    entry = re.search(r'<ol class="aura-evidence.*?<li[^>]*>(.*?)</li>', structured, re.S).group(1)
    assert sorted(entry.split(" · ")) == ["level: error", "msg: slow"]
    assert "[&quot;step 1" not in page and '["step 1' not in page


# --- Disciplinary actions ------------------------------------------------------------------------------------


def test_an_overturned_action_is_marked_with_who_and_why_in_the_list_and_on_its_page(
    director, director_client, offender, now
):
    action = DisciplinaryAction.objects.filter(worker=offender).exclude(action="OVERTURN").order_by("id").first()
    action_overturn(action=action, reason="logs were truncated", actor=director, now=now)

    listing = director_client.get(admin_url(DisciplinaryAction, "changelist")).content.decode()
    page = director_client.get(admin_url(action, "change")).content.decode()

    for html in (listing, page):
        assert re.search(r'<span class="aura-label[^"]*" title="overturned by director[^"]*">Overturned</span>', html)
        assert "overturned by director on" in html and "logs were truncated" in html
    assert 'data-aura-action="overturn_actions"' not in page  # an overturned action is not offered again


# --- The worker page -----------------------------------------------------------------------------------------


def test_the_worker_page_shows_its_record_incidents_holds_and_history(director, director_client, offender, now):
    action = DisciplinaryAction.objects.filter(worker=offender).exclude(action="OVERTURN").order_by("id").first()
    action_overturn(action=action, reason="a second look", actor=director, now=now)
    hold_place(kind="APPEAL", reason="the worker appeals", actor=director, now=now, worker=offender)

    html = director_client.get(admin_url(offender, "change")).content.decode()

    record = html.partition('id="disciplinary-record"')[2].partition("</section>")[0]
    assert record.count("aura-timeline-entry") == DisciplinaryAction.objects.filter(worker=offender).count()
    assert "aura-overturned" in record and "a second look" in record and "by <strong>director</strong>" in record
    assert f"policy version {action.policy_version}" in record
    incidents = html.partition('id="worker-incidents"')[2].partition("</section>")[0]
    assert incidents.count("aura-incident") == 2 and "step 2: invented a source" in incidents
    assert "the worker appeals" in html.partition('id="worker-holds"')[2].partition("</section>")[0]
    assert "task-1" in html.partition('id="worker-assignments"')[2].partition("</section>")[0]
    assert html.partition('id="worker-history"')[2].partition("</section>")[0].count("<tr class=") >= 2


def test_the_record_sections_link_to_their_whole_filtered_lists(director_client, offender):
    html = director_client.get(admin_url(offender, "change")).content.decode()
    link = re.search(r'href="(/admin/governance/incident/\?worker__id__exact=\d+)"', html).group(1)

    listed = director_client.get(link)

    assert listed.status_code == 200
    assert "?e=1" not in listed.get("Location", "")
    assert str(Incident.objects.filter(worker=offender).first().pk)[:8] in listed.content.decode()


def test_capabilities_are_edited_as_a_comma_separated_list(director, director_client, offender):
    form = {"name": "GPT", "provider": "openai", "priority": offender.priority, "capabilities": "code, review, code"}

    page = director_client.get(admin_url(offender, "change")).content.decode()
    saved = director_client.post(admin_url(offender, "change"), form)
    refused = director_client.post(admin_url(offender, "change"), form | {"capabilities": "code, two words"})

    assert re.search(r'name="capabilities"[^>]*value="code"', page)
    assert saved.status_code == 302
    offender.refresh_from_db()
    assert offender.capabilities == ["code", "review"]
    assert refused.status_code == 200 and "is not a capability tag" in refused.content.decode()


# --- Events --------------------------------------------------------------------------------------------------


def test_the_events_list_is_newest_first(director_client, now):
    old = Event.objects.create(kind=Event.Kind.INCIDENT_OPENED, model_id="a", created_at=now - timedelta(days=1))
    new = Event.objects.create(kind=Event.Kind.INCIDENT_OPENED, model_id="b", created_at=now)

    html = director_client.get(admin_url(Event, "changelist")).content.decode()

    assert html.index(f"/admin/workforce/event/{new.pk}/change/") < html.index(f"/admin/workforce/event/{old.pk}/")


# --- The settings editor -------------------------------------------------------------------------------------


def test_the_settings_form_has_a_field_per_weight_penalty_and_budget_and_no_json(director_client):
    html = director_client.get(admin_url(GovernanceSettings, "add")).content.decode()
    current = settings_current()

    for key, weight in current.weights.items():
        assert re.search(rf'name="weight_{key}"[^>]*value="{re.escape(str(weight))}', html)
    for key in current.penalty_points:
        assert f'name="points_{key}"' in html
    for key in current.tier_budgets:
        assert f'name="budget_{key}"' in html
    assert 'name="weights"' not in html and 'name="note"' in html and "Reason" in html


def test_a_version_page_shows_what_changed_against_the_previous_one(director, director_client):
    old = settings_current()
    draft = settings_current()
    draft.promotion_threshold = 90
    draft.weights = {**old.weights, "confidence": "0.30", "consistency": "0.15"}
    new = settings_publish(draft=draft, note="promote fewer", actor=director)

    html = director_client.get(admin_url(new, "change")).content.decode()

    diff = re.search(r'<table class="aura-diff.*?</table>', html, re.S).group(0)
    rows = re.findall(r'<tr class="border-t.*?</tr>', diff, re.S)
    cells = {tuple(re.findall(r"<td[^>]*>(.*?)</td>", row)) for row in rows}
    assert cells == {
        ("weights.confidence", old.weights["confidence"], "0.30"),
        ("weights.consistency", old.weights["consistency"], "0.15"),
        ("promotion_threshold", str(old.promotion_threshold), "90"),
    }
    assert f"Version {old.version}" in diff


def test_publishing_from_the_form_keeps_unchanged_weights_as_they_were(director, director_client):
    from tests.test_admin_actions import settings_form

    old = settings_current()
    response = director_client.post(
        admin_url(GovernanceSettings, "add"), settings_form(old, promotion_threshold=85, note="a little stricter")
    )

    assert response.status_code == 302
    new = settings_current()
    assert new.weights == old.weights and new.penalty_points == old.penalty_points
    page = director_client.get(admin_url(new, "change")).content.decode()
    diff = re.search(r'<table class="aura-diff.*?</table>', page, re.S).group(0)
    assert "promotion_threshold" in diff and "weights." not in diff


# --- CSV export ----------------------------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_director_exports_the_filtered_incident_list(director_client, offender):
    Incident.objects.filter(task__task_id="task-2").update(status=Incident.Status.OVERTURNED)

    everything = _csv(director_client.get(admin_url(Incident, "changelist") + "export/"))
    filtered = _csv(director_client.get(admin_url(Incident, "changelist") + "export/?status__exact=OVERTURNED"))

    assert everything[0][:3] == ["id", "reported_at", "worker"]
    assert len(everything) == 3
    assert len(filtered) == 2 and filtered[1][0] == str(Incident.objects.get(task__task_id="task-2").pk)
    assert "hallucination (" in everything[2][everything[0].index("violations")]


def test_the_export_button_carries_the_lists_filters(director_client, offender):
    html = director_client.get(admin_url(Incident, "changelist") + "?status__exact=ACTIONED").content.decode()

    assert re.search(r'href="/admin/governance/incident/export/\?status__exact=ACTIONED"', html)


def test_an_exported_action_says_who_overturned_it_and_why(director, director_client, offender, now):
    action = DisciplinaryAction.objects.filter(worker=offender).exclude(action="OVERTURN").order_by("id").first()
    action_overturn(action=action, reason="not a hallucination", actor=director, now=now)

    rows = _csv(director_client.get(admin_url(DisciplinaryAction, "changelist") + "export/"))

    header, body = rows[0], {row[0]: row for row in rows[1:]}
    assert body[str(action.pk)][header.index("overturn_reason")] == "not a hallucination"
    assert body[str(action.pk)][header.index("overturned_by_actor")] == "user:director"


@pytest.mark.parametrize(("role", "allowed"), [(Role.VIEWER.value, True), (Role.AUDITOR.value, False)])
def test_only_the_reading_roles_export(roles, offender, role, allowed):
    client = logged_in(_staff(roles, "someone", role))

    response = client.get(admin_url(DisciplinaryAction, "changelist") + "export/")
    listing = client.get(admin_url(DisciplinaryAction, "changelist")).content.decode()

    assert response.status_code == (200 if allowed else 403)
    assert ("Export CSV" in listing) is allowed


# --- The halt ------------------------------------------------------------------------------------------------


def test_the_director_halts_and_resumes_from_the_system_mode_page_with_a_reason(director, director_client, viewer):
    from workforce.models import SystemMode

    halt = admin_url(SystemMode, "changelist") + "halt/"
    resume = admin_url(SystemMode, "changelist") + "resume/"

    asked = director_client.get(halt)
    refused = director_client.post(halt, {"apply": "yes", "reason": ""})
    assert asked.status_code == 200 and 'name="reason"' in asked.content.decode()
    assert refused.status_code == 200 and not system_mode().halted

    done = director_client.post(halt, {"apply": "yes", "reason": "a bad deploy upstream"}, follow=True)
    assert system_mode().halted and system_mode().reason == "a bad deploy upstream"
    assert "Resume the fleet" in done.content.decode()
    assert Event.objects.filter(kind__startswith="system.").exists()

    assert logged_in(viewer).post(resume, {"apply": "yes", "reason": "x"}).status_code == 403
    director_client.post(resume, {"apply": "yes", "reason": "fixed"})
    assert not system_mode().halted


# --- What each role sees -------------------------------------------------------------------------------------

INTERNAL = ["purgepermit", "commandrecord", "auditrunitem", "beatjobrun", "incidentdaycount"]


def test_internal_tables_are_on_no_index_or_sidebar_but_a_superusers(director_client):
    superuser = logged_in(User.objects.create_superuser("root", password="root-pass-Δ9"))

    for client, shown in ((director_client, False), (superuser, True)):
        for page in ("/admin/", "/admin/governance/", "/admin/workforce/worker/"):
            html = client.get(page).content.decode()
            for name in INTERNAL:
                assert (f"/admin/governance/{name}/" in html) is shown, (page, name)
        assert ("/admin/auth/user/" in client.get("/admin/workforce/worker/").content.decode()) is shown


def test_the_sidebar_groups_what_the_director_uses(director_client):
    html = director_client.get("/admin/workforce/worker/").content.decode()

    for group in ("Fleet", "Incidents and evidence", "Policy", "Records"):
        assert group in html
    for url in ("/admin/governance/incident/", "/admin/governance/policy/", "/admin/governance/purgelog/"):
        assert f'href="{url}"' in html


def test_view_site_leads_to_the_control_room(director_client):
    html = director_client.get("/admin/workforce/worker/").content.decode()

    assert 'href="/admin/"' in html
    assert director_client.get("/admin/").status_code == 200


# --- Task interventions --------------------------------------------------------------------------------------


def _run(client, model, objs, action: str, **form):
    data = {"action": action, "_selected_action": [str(o.pk) for o in objs], "apply": "yes", **form}
    return client.post(admin_url(model, "changelist"), data, follow=True)


def _messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def test_the_director_force_reassigns_a_task_with_a_reason(director_client, now):
    from workforce.models import Task

    first = worker_hire(actor=TEST_MANAGER, model_id="a/one", capabilities=["code"])
    worker_hire(actor=TEST_MANAGER, model_id="b/two", capabilities=["code"])
    task = task_register(
        actor=TEST_MANAGER, task_id="t-1", capability="code", priority=5, model_id=first.model_id, now=now
    )

    asked = director_client.post(
        admin_url(Task, "changelist"), {"action": "task_force_reassign", "_selected_action": [task.pk]}
    )
    page = _run(director_client, Task, [task], "task_force_reassign", reason="a.one is slow today", model_id="")

    assert 'name="model_id"' in asked.content.decode() and 'name="reason"' in asked.content.decode()
    task.refresh_from_db()
    assert task.current_worker.model_id == "b/two"
    assert "Reassigned 1 task." in _messages(page)
    assert Event.objects.filter(task_id="t-1", kind__icontains="reassign").exists()


def test_a_waiting_task_is_assigned_to_the_chosen_worker_and_a_refusal_is_reported(director, director_client, now):
    from workforce.models import Task
    from workforce.services.system import system_halt

    worker_hire(actor=TEST_MANAGER, model_id="c/three", capabilities=["code"])
    task = task_register(actor=TEST_MANAGER, task_id="t-2", capability="code", priority=5, model_id=None, now=now)
    Task.objects.filter(pk=task.pk).update(current_worker=None, status=Task.Status.WAITING)
    system_halt(reason="drill", actor=director, now=now)

    refused = _run(director_client, Task, [task], "task_assign_to_worker", reason="drill", model_id="c/three")
    task.refresh_from_db()
    assert task.current_worker is None and "Refused:" in _messages(refused)

    from workforce.services.system import system_resume

    system_resume(reason="drill over", actor=director, now=now)
    task.refresh_from_db()
    if task.current_worker is None:  # the resume routes only tasks that went waiting during the halt
        done = _run(director_client, Task, [task], "task_assign_to_worker", reason="c is free", model_id="c/three")
        assert "Assigned 1 task." in _messages(done)
        task.refresh_from_db()
    assert task.current_worker.model_id == "c/three"


def test_a_viewer_is_offered_no_task_intervention(viewer, now):
    from workforce.models import Task

    worker = worker_hire(actor=TEST_MANAGER, model_id="d/four", capabilities=["code"])
    task = task_register(
        actor=TEST_MANAGER, task_id="t-3", capability="code", priority=5, model_id=worker.model_id, now=now
    )
    client = logged_in(viewer)

    listing = client.get(admin_url(Task, "changelist")).content.decode()
    page = client.get(admin_url(task, "change")).content.decode()
    tried = client.get(reverse("admin:workforce_task_act", args=[task.pk, "task_force_reassign"]))

    assert "task_force_reassign" not in listing and "data-aura-action" not in page
    assert tried.status_code == 403


# --- Worker interventions: a suspension's length, the reinstatement -------------------------------------------


def test_the_director_suspends_for_a_chosen_length_then_reinstates(director, director_client, now):
    worker = worker_hire(actor=TEST_MANAGER, model_id="e/five", capabilities=["code"])

    _run(director_client, Worker, [worker], "worker_suspend", reason="flaky today", hours="6")
    worker.refresh_from_db()
    suspension = DisciplinaryAction.objects.get(worker=worker, action="SUSPEND")
    page = director_client.get(admin_url(worker, "change")).content.decode()
    done = _run(director_client, Worker, [worker], "worker_reinstate", reason="provider fixed")

    assert worker.status == Worker.Status.SUSPENDED
    hours = (suspension.effective_until - suspension.created_at).total_seconds() / 3600
    assert round(hours) == 6
    assert 'data-aura-action="worker_reinstate"' in page
    worker.refresh_from_db()
    assert worker.status == Worker.Status.ACTIVE and "Reinstated 1 worker." in _messages(done)
    reinstatement = DisciplinaryAction.objects.get(worker=worker, action="REINSTATE")
    assert (reinstatement.actor, reinstatement.reason) == (director, "provider fixed")


def test_every_admin_page_is_unfolds():
    from django.contrib import admin
    from unfold.admin import ModelAdmin

    assert [m._meta.label for m, a in admin.site._registry.items() if not isinstance(a, ModelAdmin)] == []


def test_a_version_published_from_the_form_keeps_what_the_form_does_not_show(director, director_client):
    from tests.test_admin_actions import settings_form

    draft = settings_current()
    draft.detector_modes = {"timeout.fixed": "observe"}
    old = settings_publish(draft=draft, note="observe first", actor=director)

    response = director_client.post(
        admin_url(GovernanceSettings, "add"), settings_form(old, warning_threshold=55, note="warn earlier")
    )

    assert response.status_code == 302
    new = settings_current()
    assert (new.warning_threshold, new.detector_modes) == (55, {"timeout.fixed": "observe"})
    assert 'name="detector_modes"' not in director_client.get(admin_url(GovernanceSettings, "add")).content.decode()
