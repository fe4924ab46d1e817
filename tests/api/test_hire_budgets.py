import pytest

from governance.models import GovernanceSettings
from governance.selectors import settings_current

pytestmark = pytest.mark.django_db


def test_a_new_hire_gets_the_tier_budget_of_the_settings_in_force(api, director):
    current = settings_current()
    budgets = {"JUNIOR": 111, "MID": 222, "SENIOR": 333, "PRINCIPAL": 444}
    GovernanceSettings.objects.create(weights=current.weights, tier_budgets=budgets, note="leaner budgets")
    assert api.hire("openai/gpt-4o", tier="SENIOR")["budget"] == 333
    assert api.hire("meta-llama/Llama-3.1-8B")["budget"] == 111
