"""Who may call what: the 401/403 matrix for every endpoint and every kind of caller."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from governance.models import AuditRun, Incident
from workforce.models import Role, ServiceKey

pytestmark = pytest.mark.django_db

GPT = "openai/gpt-4o"
REPORT = {"task_id": "run-7/step/3", "logs": ["ok"], "hallucinated": False, "duration_ms": 5, "scope_drift": False}
METRICS = {m: 50 for m in ("confidence", "consistency", "accuracy", "productivity", "initiative", "discipline")}

READ, WRITE, INBOX = "read", "write", "inbox"

# (method, path, body, kind, status when allowed). {incident} and {run} are filled from the world fixture.
ENDPOINTS = [
    ("get", "/api/workers/", None, READ, 200),
    ("post", "/api/workers/", {"model_id": "acme/new-hire", "capabilities": ["code"]}, WRITE, 201),
    ("get", f"/api/workers/{GPT}/", None, READ, 200),
    ("get", f"/api/workers/{GPT}/record/", None, READ, 200),
    ("post", "/api/tasks/", {"task_id": "new/task", "capability": "code"}, WRITE, 201),
    ("get", "/api/tasks/run-7/step/3/", None, READ, 200),
    ("post", "/api/tasks/spare/assign/", {}, WRITE, 200),
    ("post", "/api/tasks/run-7/step/3/complete/", None, WRITE, 200),
    ("get", "/api/routing/?capability=code&priority=5", None, READ, 200),
    ("post", "/api/audit/", REPORT, WRITE, 200),
    ("post", "/api/audit/batch/", {"reports": [REPORT]}, WRITE, 202),
    ("get", "/api/audit-runs/{run}/", None, READ, 200),
    ("post", "/api/enforce/", {"model_id": GPT, "violations": [["format_violation", 1]]}, WRITE, 200),
    ("post", "/api/score/", {"metrics": METRICS, "penalties": [], "previous_score": 60}, WRITE, 200),
    ("post", "/api/score/", {"model_id": GPT, "metrics": METRICS, "penalties": []}, WRITE, 200),
    ("get", "/api/incidents/", None, READ, 200),
    ("get", "/api/incidents/{incident}/", None, READ, 200),
    ("get", "/api/events/?after=0", None, INBOX, 200),
]
ENDPOINT_IDS = [
    f"{m.upper()} {p}{' (with model_id)' if b and 'model_id' in b and 'score' in p else ''}"
    for m, p, b, *_ in ENDPOINTS
]


@pytest.fixture
def world(api):
    """A worker holding a task, a spare task, one incident and one audit run."""
    api.hire(GPT, tier="SENIOR")
    api.register("run-7/step/3", model_id=GPT)
    api.register("incident-task", model_id=GPT)
    api.register("spare")
    api.report("incident-task", hallucinated=True)
    run = AuditRun.objects.create(total=0, created_at=timezone.now())
    return {"incident": Incident.objects.get().pk, "run": run.pk}


def session_client(user: User) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def director_session(director) -> APIClient:
    return session_client(director)


@pytest.fixture
def viewer_session(viewer) -> APIClient:
    return session_client(viewer)


@pytest.fixture
def superuser_session(db) -> APIClient:
    return session_client(User.objects.create_superuser("root", password="root-pass-Δ9"))


@pytest.fixture
def groupless_session(db) -> APIClient:
    return session_client(User.objects.create_user("stranger", password="stranger-pass-Δ9"))


@pytest.fixture
def revoked_key(roles) -> APIClient:
    key, raw = ServiceKey.objects.create_key(name="old-manager", role=roles[Role.MANAGER.value])
    key.revoked = True
    key.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


@pytest.fixture
def expired_key(roles) -> APIClient:
    _, raw = ServiceKey.objects.create_key(
        name="expired-manager", role=roles[Role.MANAGER.value], expiry_date=timezone.now() - timedelta(minutes=1)
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


@pytest.fixture
def forged_key(db) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Api-Key abcdefgh.not-a-real-key")
    return client


# caller fixture -> what it may do: "all", "read" (reads but not the inbox), or None (401)
CALLERS = {
    "anon_client": None,
    "revoked_key": None,
    "expired_key": None,
    "forged_key": None,
    "viewer_key": READ,
    "auditor_key": READ,
    "viewer_session": READ,
    "groupless_session": "nothing",
    "manager_key": "all",
    "director_key": "all",
    "director_session": "all",
    "superuser_session": "all",
}


def expected_status(caller_may: str | None, kind: str, allowed: int) -> int:
    if caller_may is None:
        return 401
    if caller_may == "all" or (caller_may == READ and kind == READ):
        return allowed
    return 403


@pytest.mark.parametrize("caller", list(CALLERS))
@pytest.mark.parametrize(("method", "path", "body", "kind", "allowed"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_each_caller_gets_what_its_role_allows_on_each_endpoint(
    request, world, counts, caller, method, path, body, kind, allowed
):
    client = request.getfixturevalue(caller)
    url = path.format(**world)
    before = counts()

    if method == "get":
        response = client.get(url)
    else:
        response = client.post(url, body, format="json")

    want = expected_status(CALLERS[caller], kind, allowed)
    assert response.status_code == want, (caller, url, response.content)
    if want in (401, 403):
        assert counts() == before, "a refused call writes nothing"


def test_an_anonymous_call_is_told_how_to_authenticate(anon_client, db):
    response = anon_client.get("/api/workers/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"


def test_a_malformed_authorization_header_is_a_401(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Api-Key ")

    assert client.get("/api/workers/").status_code == 401


def test_a_director_session_must_carry_the_csrf_token_to_write(director, world, counts):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(director)
    before = counts()

    response = client.post("/api/workers/", {"model_id": "acme/x", "capabilities": ["code"]}, format="json")

    assert response.status_code == 403
    assert counts() == before
    assert client.get("/api/workers/").status_code == 200


def test_a_key_revoked_after_use_stops_working(manager_key, db):
    assert manager_key.get("/api/workers/").status_code == 200
    ServiceKey.objects.filter(name="manager").update(revoked=True)

    assert manager_key.get("/api/workers/").status_code == 401


def test_the_schema_and_docs_are_served(manager_key, db):
    assert manager_key.get("/api/schema/").status_code == 200
    assert manager_key.get("/api/docs/").status_code == 200
