"""The Director's policy edits: each one is a new settings version, so every decision names the policy it
followed."""

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from aura_project.errors import DomainError
from governance.models import DisciplinaryAction, GovernanceSettings, Policy
from governance.selectors import settings_current
from governance.services.policies import policy_update
from governance.services.reports import ReportInput, report_submit
from workforce.domain.actor import MANAGER, service_key
from workforce.models import Worker
from workforce.services.tasks import task_register

TEST_MANAGER = service_key("test-manager", MANAGER)  # the Manager's key, for service calls

pytestmark = pytest.mark.django_db


def format_violation_by(model_id: str) -> DisciplinaryAction:
    """A fresh worker's first format violation, through the report pipeline; its one action."""
    Worker.objects.create(model_id=model_id, capabilities=["code"])
    now = timezone.now()
    task_register(
        actor=TEST_MANAGER, task_id=f"{model_id}/task", capability="code", priority=2, model_id=model_id, now=now
    )
    report_submit(
        actor=TEST_MANAGER,
        report=ReportInput(task_id=f"{model_id}/task", model_id=model_id, format_violation=True),
        report_id=f"{model_id}/report",
        now=now,
    )
    return DisciplinaryAction.objects.get(worker__model_id=model_id)


def edit(policy: Policy, actor, **changes) -> Policy:
    values = {
        "severity": policy.severity,
        "action": policy.action,
        "description": policy.description,
        "active": policy.active,
    }
    return policy_update(policy=policy, actor=actor, now=timezone.now(), **(values | changes))


@pytest.fixture
def format_policy() -> Policy:
    return Policy.objects.get(violation_type="format_violation")


def test_the_same_violation_before_and_after_a_policy_edit_names_different_policy_versions(director, format_policy):
    Worker.objects.create(model_id="spare", capabilities=["code"])
    before = format_violation_by("before")

    edit(format_policy, director, action="STRIKE")
    after = format_violation_by("after")

    assert (before.action, after.action) == ("WARNING", "STRIKE")
    assert before.policy_version != after.policy_version
    assert after.policy_version == settings_current().version


def test_a_policy_edit_publishes_a_copy_of_the_version_in_force_naming_the_director(director, format_policy):
    old = settings_current()

    edit(format_policy, director, severity=2, description="malformed output")

    new = settings_current()
    assert new.version > old.version
    assert (new.note, new.created_by) == ("policy format_violation changed by director", director)
    same = [
        f.name
        for f in GovernanceSettings._meta.concrete_fields
        if f.name not in ("version", "note", "created_by", "created_at")
    ]
    assert {f: getattr(new, f) for f in same} == {f: getattr(old, f) for f in same}
    format_policy.refresh_from_db()
    assert (format_policy.severity, format_policy.description) == (2, "malformed output")
    assert format_policy.history.latest().history_user == director


@pytest.mark.parametrize("who", ["viewer", "plain staff", "anonymous"])
def test_nobody_but_the_director_may_change_a_policy(viewer, format_policy, who):
    actor = {
        "viewer": viewer,
        "plain staff": User.objects.create_user("staff", password="staff-pass-Δ9", is_staff=True),
        "anonymous": None,
    }[who]
    version = settings_current().version

    with pytest.raises(DomainError) as refused:
        edit(format_policy, actor, action="BLACKLIST")

    assert refused.value.field == "actor"
    format_policy.refresh_from_db()
    assert format_policy.action == "WARNING"
    assert settings_current().version == version


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"action": "PROMOTE"}, "action"), ({"action": "OVERTURN"}, "action"), ({"severity": 0}, "severity")],
    ids=["a promotion", "an overturn", "severity zero"],
)
def test_a_policy_cannot_reward_a_violation_or_weigh_nothing(director, format_policy, changes, field):
    version = settings_current().version

    with pytest.raises(DomainError) as refused:
        edit(format_policy, director, **changes)

    assert refused.value.field == field
    assert settings_current().version == version
