"""The auth matrix, enumerated from the URLconf: every API operation as anonymous, Viewer, Auditor, Manager,
Director and a revoked key, against docs/api.md's "Who may call what".

A new route or method fails `test_every_api_operation_has_a_documented_rule` until its rule is written below
(and in docs/api.md), so no endpoint escapes the matrix. tests/api/test_permissions.py covers the successful
calls of each endpoint with real bodies; here every operation is called with placeholder ids and an empty body,
because only the permission layer's answer matters: a refused call is 401 or 403 and writes nothing; an allowed
one gets past it (a 400 or 404 from the view is fine: it was let in).
"""

import pytest
from django.urls import URLResolver, get_resolver
from rest_framework.test import APIClient

from workforce.domain.actor import AUDITOR, DIRECTOR, MANAGER, VIEWER
from workforce.models import Role, ServiceKey

pytestmark = pytest.mark.django_db

EVERY_ROLE = frozenset({DIRECTOR, MANAGER, AUDITOR, VIEWER})
MANAGING = frozenset({DIRECTOR, MANAGER})
DIRECTING = frozenset({DIRECTOR})
METHODS = ("get", "post", "put", "patch", "delete")

# docs/api.md, "Who may call what": reads for every role, writes and the Manager's inbox for the Manager and the
# Director, the Director's interventions for the Director alone, the schema and its docs for every role. One row
# per route and method the URLconf serves.
DOCUMENTED: dict[tuple[str, str], frozenset[str]] = {
    ("api/schema/", "get"): EVERY_ROLE,
    ("api/docs/", "get"): EVERY_ROLE,
    ("api/redoc/", "get"): EVERY_ROLE,
    ("api/audit/", "post"): MANAGING,
    ("api/audit/batch/", "post"): MANAGING,
    ("api/audit-runs/<uuid:run_id>/", "get"): EVERY_ROLE,
    ("api/detectors/oversight/", "get"): EVERY_ROLE,
    ("api/enforce/", "post"): MANAGING,
    ("api/score/", "post"): MANAGING,
    ("api/incidents/", "get"): EVERY_ROLE,
    ("api/incidents/<uuid:incident_id>/", "get"): EVERY_ROLE,
    ("api/workers/", "get"): EVERY_ROLE,
    ("api/workers/", "post"): MANAGING,
    ("api/workers/<path:model_id>/record/", "get"): EVERY_ROLE,
    ("api/workers/<path:model_id>/", "get"): EVERY_ROLE,
    ("api/tasks/", "post"): MANAGING,
    ("api/tasks/<path:task_id>/assign/", "post"): MANAGING,
    ("api/tasks/<path:task_id>/assign/", "get"): EVERY_ROLE,  # reads a task whose own id ends in /assign
    ("api/tasks/<path:task_id>/complete/", "post"): MANAGING,
    ("api/tasks/<path:task_id>/complete/", "get"): EVERY_ROLE,  # likewise, /complete
    ("api/tasks/<path:task_id>/", "get"): EVERY_ROLE,
    ("api/routing/", "get"): EVERY_ROLE,
    ("api/events/", "get"): MANAGING,
    ("api/director/mode/", "get"): EVERY_ROLE,
    ("api/director/halt/", "post"): DIRECTING,
    ("api/director/resume/", "post"): DIRECTING,
    ("api/director/workers/<path:model_id>/suspend/", "post"): DIRECTING,
    ("api/director/workers/<path:model_id>/reinstate/", "post"): DIRECTING,
    ("api/director/workers/<path:model_id>/terminate/", "post"): DIRECTING,
    ("api/director/workers/<path:model_id>/rehire/", "post"): DIRECTING,
    ("api/director/workers/<path:model_id>/blacklist/", "post"): DIRECTING,
    ("api/director/actions/<int:action_id>/overturn/", "post"): DIRECTING,
    ("api/director/pending-sanctions/<int:pending_id>/confirm/", "post"): DIRECTING,
    ("api/director/pending-sanctions/<int:pending_id>/dismiss/", "post"): DIRECTING,
    ("api/director/holds/", "post"): DIRECTING,
    ("api/director/holds/<int:hold_id>/release/", "post"): DIRECTING,
    ("api/director/tasks/<path:task_id>/reassign/", "post"): DIRECTING,
    ("api/director/tasks/<path:task_id>/assign/", "post"): DIRECTING,
    ("api/detectors/", "get"): EVERY_ROLE,
    ("api/director/detectors/<str:name>/mode/", "post"): DIRECTING,
}
PLACEHOLDERS = {"uuid": "00000000-0000-4000-8000-000000000000", "path": "matrix/none", "str": "matrix", "int": "1"}


def _routes(patterns, prefix: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def api_operations() -> dict[tuple[str, str], str]:
    """(route, method) -> a URL that reaches it, for every API view's method in the URLconf."""
    operations = {}
    for route, pattern in _routes(get_resolver().url_patterns):
        view = getattr(pattern.callback, "view_class", None)
        if not route.startswith("api/") or view is None:
            continue
        url = "/" + route
        for name in pattern.pattern.converters:
            kind = next(k for k in PLACEHOLDERS if f"<{k}:{name}>" in url)
            url = url.replace(f"<{kind}:{name}>", PLACEHOLDERS[kind])
        for method in METHODS:
            if hasattr(view, method):
                operations[(route, method)] = url
    return operations


OPERATIONS = api_operations()
CALLERS = ["anonymous", "revoked", VIEWER, AUDITOR, MANAGER, DIRECTOR]


def test_every_api_operation_has_a_documented_rule():
    assert set(OPERATIONS) == set(DOCUMENTED)


@pytest.fixture
def caller(request, roles) -> APIClient:
    client = APIClient()
    if request.param == "anonymous":
        return client
    role = MANAGER if request.param == "revoked" else request.param
    key, raw = ServiceKey.objects.create_key(name=f"matrix-{request.param}", role=roles[Role(role).value])
    if request.param == "revoked":
        ServiceKey.objects.filter(pk=key.pk).update(revoked=True)
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


@pytest.mark.parametrize("caller", CALLERS, indirect=True)
@pytest.mark.parametrize(
    ("route", "method"), sorted(OPERATIONS), ids=[f"{m.upper()} {r}" for r, m in sorted(OPERATIONS)]
)
def test_each_role_gets_what_the_documented_rule_allows(request, caller, route, method, counts):
    who = request.node.callspec.params["caller"]
    before = counts()

    response = getattr(caller, method)(OPERATIONS[(route, method)], {}, format="json")

    if who in ("anonymous", "revoked"):
        assert response.status_code == 401, response.content
        assert response["WWW-Authenticate"] == "Api-Key"
    elif who in DOCUMENTED[(route, method)]:
        assert response.status_code not in (401, 403), (who, response.status_code, response.content)
    else:
        assert response.status_code == 403, (who, response.status_code, response.content)
    if response.status_code in (401, 403):
        assert counts() == before, "a refused call writes nothing"
        is_json = response["Content-Type"].startswith("application/json")
        assert is_json, response["Content-Type"]


@pytest.mark.parametrize("caller", CALLERS, indirect=True)
@pytest.mark.parametrize("url", sorted(set(OPERATIONS.values())))
def test_no_role_deletes_anything_through_the_api(request, caller, url, counts):
    who = request.node.callspec.params["caller"]
    before = counts()

    status = caller.delete(url).status_code

    # 405 where the caller may write (no view has a delete); 403 where it may only read.
    expected = {"anonymous": {401}, "revoked": {401}, MANAGER: {403, 405}, DIRECTOR: {405}}.get(who, {403})
    assert status in expected, (who, status)
    assert counts() == before
