"""A policy's severity is on the reports' scale (governance.domain.detection): the field's validators, the database's
check constraint and the Director's policy service each refuse one outside it, naming the field."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from aura_project.errors import DomainError
from governance.domain.detection import SEVERITY_MAX, SEVERITY_MIN
from governance.models import Policy
from governance.selectors import settings_current
from governance.services.policies import policy_problems, policy_update

pytestmark = pytest.mark.django_db

OFF_THE_SCALE = [SEVERITY_MIN - 1, SEVERITY_MAX + 1]


@pytest.fixture
def format_policy() -> Policy:
    return Policy.objects.get(violation_type="format_violation")


def test_the_seeded_policies_are_on_the_scale():
    severities = set(Policy.objects.values_list("severity", flat=True))
    assert severities and all(SEVERITY_MIN <= s <= SEVERITY_MAX for s in severities)


@pytest.mark.parametrize("severity", OFF_THE_SCALE)
def test_full_clean_refuses_a_severity_off_the_scale_naming_the_field(severity):
    policy = Policy(violation_type="copied_output", severity=severity, action="STRIKE")

    with pytest.raises(ValidationError) as refused:
        policy.full_clean()

    assert list(refused.value.message_dict) == ["severity"]
    assert f"from {SEVERITY_MIN} to {SEVERITY_MAX}" in refused.value.message_dict["severity"][0]


@pytest.mark.parametrize("severity", [SEVERITY_MIN, SEVERITY_MAX])
def test_full_clean_accepts_the_ends_of_the_scale(severity):
    Policy(violation_type="copied_output", severity=severity, action="STRIKE").full_clean()


@pytest.mark.parametrize("severity", OFF_THE_SCALE)
def test_the_database_refuses_a_severity_off_the_scale(severity):
    with pytest.raises(IntegrityError), transaction.atomic():
        Policy.objects.create(violation_type="copied_output", severity=severity, action="STRIKE")


def test_the_database_refuses_an_update_off_the_scale_that_skips_the_model(format_policy):
    with pytest.raises(IntegrityError), transaction.atomic():
        Policy.objects.filter(pk=format_policy.pk).update(severity=SEVERITY_MAX + 1)


@pytest.mark.parametrize("severity", OFF_THE_SCALE)
def test_the_policy_service_refuses_a_severity_off_the_scale_naming_the_field(director, format_policy, severity):
    version = settings_current().version
    assert set(policy_problems(severity=severity, action="WARNING")) == {"severity"}

    with pytest.raises(DomainError) as refused:
        policy_update(
            policy=format_policy,
            severity=severity,
            action=format_policy.action,
            description=format_policy.description,
            active=True,
            actor=director,
            now=timezone.now(),
        )

    assert refused.value.field == "severity"
    format_policy.refresh_from_db()
    assert format_policy.severity == 1
    assert settings_current().version == version


def test_the_policy_service_accepts_the_gravest_severity(director, format_policy):
    policy_update(
        policy=format_policy,
        severity=SEVERITY_MAX,
        action=format_policy.action,
        description=format_policy.description,
        active=True,
        actor=director,
        now=timezone.now(),
    )

    format_policy.refresh_from_db()
    assert format_policy.severity == SEVERITY_MAX
