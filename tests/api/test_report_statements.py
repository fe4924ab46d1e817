"""Few statements per report (issue 8): a clean one under 10, a violation bounded, key authentication and the
settings included. The handing on of a leaving worker's other tasks is follow-up work, counted apart."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from governance.selectors import settings_current

CLEAN_MAX = 9
# The target is under 25; see docs/PERFORMANCE.md for what the last ones are. Since then, on PostgreSQL: the halt's
# read of the system mode before the repair assigns (27, measured before issue 11), and the findings' one INSERT
# (issue 11: a violation always has one, the enforced detector's, which the incident's oversight counts).
VIOLATION_MAX = 28


def statements(queries) -> list[str]:
    """What the request sent, without the savepoints the test's own transaction adds."""
    return [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]


@pytest.fixture
def warm(api, clock):
    api.hire("a/w1")
    api.hire("a/w2")
    for n in range(4):
        api.register(f"t{n}", model_id="a/w1")
    clock.advance(seconds=5)
    settings_current()  # the settings and policies are read once per version
    api.report("t0", model_id="a/w1", report_id="r0")
    return api


def test_a_clean_report_takes_under_ten_statements(warm):
    with CaptureQueriesContext(connection) as queries:
        warm.report("t1", model_id="a/w1", report_id="r1")
    sent = statements(queries)
    assert len(sent) <= CLEAN_MAX, "\n".join(sent)


def test_a_violation_takes_a_bounded_number_of_statements(warm):
    with CaptureQueriesContext(connection) as queries:
        body = warm.report("t2", model_id="a/w1", report_id="r2", hallucinated=True)
    assert body["actions"] == ["STRIKE"] and body["reassigned_to"] == "a/w2"
    sent = statements(queries)
    assert len(sent) <= VIOLATION_MAX, "\n".join(s[:100] for s in sent)
