"""The control room's side of issue 11: the settings editor's detector modes and thresholds, oversight settings
and escalation minutes (fields, never JSON); the Director's quick switch of a detector's mode from the dashboard;
and the pending sanctions list telling a senior's escalation, with its deadline, from a spike hold."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from governance.models import GovernanceSettings, PendingSanction
from governance.selectors import settings_current
from governance.selectors_detectors import detector_modes
from governance.services.discipline import enforcement_run
from governance.services.settings import settings_publish
from tests.test_admin_actions import admin_url, logged_in, run_action, settings_form
from workforce.domain.actor import MANAGER, service_key
from workforce.models import Event, Worker
from workforce.services.workers import worker_hire

pytestmark = pytest.mark.django_db

SCOPE = "scope.semantic"  # observe by default, with a threshold of its own
MANAGER_KEY = service_key("manager", MANAGER)


@pytest.fixture
def director_client(director):
    return logged_in(director)


def _switch_url(name: str) -> str:
    return reverse("admin:governance_governancesettings_detector_mode", args=[name])


def _diff(client, version: GovernanceSettings) -> set[tuple[str, ...]]:
    html = client.get(admin_url(version, "change")).content.decode()
    table = re.search(r'<table class="aura-diff.*?</table>', html, re.S).group(0)
    rows = re.findall(r'<tr class="border-t.*?</tr>', table, re.S)
    return {tuple(re.findall(r"<td[^>]*>(.*?)</td>", row)) for row in rows}


# --- The settings editor -------------------------------------------------------------------------------------


def test_the_settings_form_has_a_mode_for_each_detector_thresholds_oversight_and_escalation_and_no_json(
    director_client,
):
    html = director_client.get(admin_url(GovernanceSettings, "add")).content.decode()

    assert re.search(r'<select name="mode_scope_semantic"[^>]*>.*?<option value="observe" selected>', html, re.S)
    assert re.search(r'<select name="mode_manager_flags"[^>]*>.*?<option value="enforce" selected>', html, re.S)
    assert re.search(r'name="threshold_latency_anomaly"[^>]*value="3.5"', html)
    assert 'name="threshold_manager_flags"' not in html  # no threshold of its own
    for name in ("overturn_observe_pct", "overturn_observe_min_sanctions", "overturn_window_days"):
        assert f'name="{name}"' in html
    assert re.search(r'name="escalation_SENIOR"[^>]*value="0"', html)
    assert 'name="escalation_PRINCIPAL"' in html
    assert 'name="detector_modes"' not in html and 'name="escalation_minutes"' not in html


def test_the_settings_form_changes_a_detectors_mode_and_an_escalation_time_and_publishes_a_version(
    director, director_client
):
    old = settings_current()
    after = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0

    response = director_client.post(
        admin_url(GovernanceSettings, "add"),
        settings_form(
            old,
            mode_scope_semantic="enforce",
            threshold_scope_semantic=0.4,
            escalation_SENIOR=45,
            overturn_observe_pct=40,
            note="trust scope drift; seniors wait",
        ),
    )

    assert response.status_code == 302
    new = settings_current()
    assert new.version > old.version and new.created_by == director
    assert new.detector_modes == {SCOPE: "enforce"}  # only what the Director moved is stored
    assert new.detector_thresholds == {SCOPE: 0.4}
    assert new.escalation_minutes == {"SENIOR": 45}
    assert new.overturn_observe_pct == 40
    # The diff names each change readably, a default shown as it applies.
    assert {
        ("detector_modes.scope.semantic", "observe", "enforce"),
        ("escalation_minutes.SENIOR", "0", "45"),
        ("overturn_observe_pct", str(old.overturn_observe_pct), "40"),
    } <= _diff(director_client, new)
    assert any(
        row[0] == "detector_thresholds.scope.semantic" and row[2] == "0.4" for row in _diff(director_client, new)
    )
    # The Manager's inbox is told of the mode the editor changed.
    (event,) = Event.objects.filter(id__gt=after, kind=Event.Kind.DETECTOR_MODE_CHANGED)
    assert event.payload == {
        "detector": SCOPE,
        "before": "observe",
        "mode": "enforce",
        "settings_version": new.version,
        "actor": event.payload["actor"],
        "reason": "trust scope drift; seniors wait",
    }
    assert "director" in event.payload["actor"]


def test_a_form_that_changes_no_detector_tells_the_inbox_nothing(director_client):
    old = settings_current()

    response = director_client.post(
        admin_url(GovernanceSettings, "add"), settings_form(old, warning_threshold=55, note="warn earlier")
    )

    assert response.status_code == 302
    new = settings_current()
    assert (new.detector_modes, new.detector_thresholds, new.escalation_minutes) == ({}, {}, {})
    assert not Event.objects.filter(kind=Event.Kind.DETECTOR_MODE_CHANGED).exists()


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("escalation_SENIOR", 20000, "a week"),
        ("escalation_PRINCIPAL", -5, "whole minutes"),
        ("threshold_latency_anomaly", -1, "zero or more"),
        ("overturn_observe_pct", 0, "1 to 100%"),
        ("overturn_window_days", 400, "1 to 365 days"),
    ],
)
def test_a_bad_value_is_refused_on_its_own_field(director_client, field, value, says):
    old = settings_current()

    response = director_client.post(
        admin_url(GovernanceSettings, "add"), settings_form(old, note="try", **{field: value})
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == [field] and says in errors[field][0]
    assert settings_current().version == old.version


def test_a_version_page_lists_every_detectors_mode_and_threshold_defaults_marked(director, director_client):
    draft = settings_current()
    draft.detector_modes = {SCOPE: "off"}
    new = settings_publish(draft=draft, note="scope off", actor=director)

    html = director_client.get(admin_url(new, "change")).content.decode()

    table = re.search(r'<table class="aura-detectors.*?</table>', html, re.S).group(0)
    assert re.search(r"scope\.semantic</td><td[^>]*>off</td>", table)
    assert re.search(r"claims\.unsupported</td><td[^>]*>observe \(default\)</td>", table)
    assert "(timeout_ms)" in table


# --- The quick switch --------------------------------------------------------------------------------------------


def test_the_dashboard_offers_the_director_a_change_mode_link_per_detector_and_the_viewer_none(director, viewer):
    director_page = logged_in(director).get(reverse("admin:index")).content.decode()
    viewer_page = logged_in(viewer).get(reverse("admin:index")).content.decode()

    assert f'href="{_switch_url(SCOPE)}"' in director_page
    assert director_page.count("data-aura-detector=") == len(detector_modes(settings_current()))
    assert "data-aura-detector=" not in viewer_page and _switch_url(SCOPE) not in viewer_page


def test_the_director_switches_a_detectors_mode_with_a_reason_and_the_inbox_is_told(director, director_client):
    old = settings_current()
    page = director_client.get(_switch_url(SCOPE))
    assert page.status_code == 200
    assert re.search(r'<option value="observe" selected>', page.content.decode())

    unconfirmed = director_client.post(_switch_url(SCOPE), {"apply": "yes", "mode": "enforce", "reason": "trusted"})
    assert unconfirmed.status_code == 200 and "confirm" in unconfirmed.context["form"].errors
    assert settings_current().version == old.version

    response = director_client.post(
        _switch_url(SCOPE), {"apply": "yes", "mode": "enforce", "reason": "labelled set looks good", "confirm": "on"}
    )

    assert response.status_code == 302 and response["Location"] == reverse("admin:index")
    new = settings_current()
    assert new.version > old.version and new.created_by == director
    assert detector_modes(new)[SCOPE] == "enforce"
    assert "labelled set looks good" in new.note
    event = Event.objects.get(kind=Event.Kind.DETECTOR_MODE_CHANGED)
    assert event.payload == {
        "detector": SCOPE,
        "before": "observe",
        "mode": "enforce",
        "settings_version": new.version,
        "actor": event.payload["actor"],
        "reason": "labelled set looks good",
    }
    assert "director" in event.payload["actor"]


def test_switching_to_the_mode_a_detector_has_publishes_nothing(director_client):
    old = settings_current()

    response = director_client.post(
        _switch_url(SCOPE), {"apply": "yes", "mode": "observe", "reason": "again", "confirm": "on"}, follow=True
    )

    assert "already in observe mode" in response.content.decode()
    assert settings_current().version == old.version
    assert not Event.objects.filter(kind=Event.Kind.DETECTOR_MODE_CHANGED).exists()


def test_a_viewer_gets_403_on_the_quick_switch(viewer):
    client = logged_in(viewer)
    old = settings_current()

    assert client.get(_switch_url(SCOPE)).status_code == 403
    posted = client.post(_switch_url(SCOPE), {"apply": "yes", "mode": "off", "reason": "x", "confirm": "on"})

    assert posted.status_code == 403
    assert settings_current().version == old.version


def test_an_unknown_detector_is_a_404(director_client):
    assert director_client.get(_switch_url("no.such")).status_code == 404


# --- Pending sanctions: escalations and spike holds ----------------------------------------------------------------


@pytest.fixture
def escalation(director):
    """A SENIOR's suspension waiting 30 minutes for the Director."""
    draft = settings_current()
    draft.escalation_minutes = {"SENIOR": 30}
    settings_publish(draft=draft, note="seniors wait", actor=director)
    worker_hire(model_id="acme/senior", capabilities=["code"], tier="SENIOR", actor=MANAGER_KEY)
    enforcement_run(
        model_id="acme/senior", violations=[("repeat_offense", 4)], history=[], now=timezone.now(), actor=MANAGER_KEY
    )
    return PendingSanction.objects.get(kind=PendingSanction.Kind.ESCALATION)


def test_the_pending_sanctions_list_shows_an_escalation_and_its_deadline(director_client, escalation):
    html = director_client.get(admin_url(PendingSanction, "changelist")).content.decode()

    deadline = timezone.localtime(escalation.apply_at).strftime("%Y-%m-%d %H:%M")
    assert "Senior escalation" in html
    assert re.search(rf'class="aura-deadline[^"]*"[^>]*>{re.escape(deadline)}</span>', html)
    assert escalation.apply_at - escalation.created_at == timedelta(minutes=30)


@pytest.mark.parametrize(("action", "status"), [("confirm_sanctions", "CONFIRMED"), ("dismiss_sanctions", "DISMISSED")])
def test_the_director_confirms_or_dismisses_an_escalation_from_the_list(director_client, escalation, action, status):
    run_action(director_client, PendingSanction, [escalation], action, reason="looked at it")

    escalation.refresh_from_db()
    assert escalation.status == status
    worker = Worker.objects.get(model_id="acme/senior")
    assert (worker.status == Worker.Status.SUSPENDED) == (status == "CONFIRMED")
