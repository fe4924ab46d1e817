"""Issue 9's bad input: each case a 4xx JSON body naming what is at fault, nothing written; every API error JSON;
a dropped database connection a clean 503; chunked bodies read, and held to the same 1 MB limit."""

import http.client
import io
import json
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta, timezone
from pathlib import Path
from wsgiref.util import is_hop_by_hop

import pytest
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection

from aura_project.validation import MAX_JSON_DEPTH
from aura_project.wsgi import application
from governance.domain.detection import SEVERITY_MAX, SEVERITY_MIN

pytestmark = pytest.mark.django_db

GPT = "openai/gpt-4o"
TASK = "run-9/step/1"
METRICS = {m: 50 for m in ("confidence", "consistency", "accuracy", "productivity", "initiative", "discipline")}


@pytest.fixture
def world(api):
    api.hire(GPT, tier="SENIOR")
    api.register(TASK, model_id=GPT)
    return api


def names(body: dict, field: str) -> bool:
    return any(key == field or key.startswith((f"{field}.", f"{field}[")) for key in body)


def post_raw(client, path: str, text: str):
    return client.post(path, text.encode("utf-8", "surrogatepass"), content_type="application/json")


# --- 1. strings the database cannot store -------------------------------------------------------------------

UNSTORABLE = [
    ("/api/audit/", '{"task_id": "@T", "logs": ["ok", "a\\u0000b"]}', "logs[1]"),
    ("/api/audit/", '{"task_id": "@T", "logs": ["\\ud800"]}', "logs[0]"),
    ("/api/audit/", '{"task_id": "@T", "logs": [{"step": "x\\u0000"}]}', "logs[0]"),
    ("/api/audit/", '{"task_id": "@T", "logs": [{"k\\u0000": 1}]}', "logs[0]"),
    ("/api/audit/", '{"task_id": "@T", "error_kind": "\\udfff"}', "error_kind"),
    ("/api/audit/", '{"task_id": "@T", "report_id": "r\\u0000"}', "report_id"),
    (
        "/api/audit/batch/",
        '{"reports": [{"task_id": "@T"}, {"task_id": "@T"}, {"task_id": "@T"}, '
        '{"task_id": "@T", "logs": ["\\u0000"]}]}',
        "reports[3].logs[0]",
    ),
    ("/api/audit/batch/", '{"reports": [{"task_id": "@T", "logs": ["\\udc00"]}]}', "reports[0].logs[0]"),
    ("/api/workers/", '{"model_id": "acme/\\ud800"}', "model_id"),
    ("/api/workers/", '{"model_id": "acme/x", "capabilities": ["co\\u0000de"]}', "capabilities[0]"),
    ("/api/tasks/", '{"task_id": "t\\ud800", "capability": "code"}', "task_id"),
]


@pytest.mark.parametrize(("path", "text", "field"), UNSTORABLE, ids=[f"{p} {f}" for p, _, f in UNSTORABLE])
def test_a_nul_or_lone_surrogate_in_a_stored_string_is_a_400_naming_the_field(world, counts, path, text, field):
    # Regression: on PostgreSQL these were 500s (NUL in jsonb, a surrogate in UTF-8); SQLite stored them.
    before = counts()

    response = post_raw(world.client, path, text.replace("@T", TASK))

    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert counts() == before


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/incidents/", {"worker": "a\x00b"}, "worker"),
        ("/api/workers/", {"capability": "\x00"}, "capability"),
        ("/api/routing/", {"capability": "code\x00"}, "capability"),
    ],
)
def test_a_nul_in_a_query_parameter_is_a_400_naming_it(world, path, params, field):
    response = world.client.get(path, params)

    assert response.status_code == 400, response.content
    assert names(response.json(), field), response.json()


def test_a_nul_in_an_id_in_the_path_is_a_400_naming_it(world):
    response = world.client.get("/api/tasks/run%00/")

    assert response.status_code == 400, response.content
    assert names(response.json(), "task_id"), response.json()


def test_a_nul_in_the_idempotency_key_is_a_400_naming_the_header(world, counts):
    before = counts()

    response = world.client.post("/api/audit/", {"task_id": TASK}, format="json", HTTP_IDEMPOTENCY_KEY="k\x00")

    assert response.status_code == 400, response.content
    assert names(response.json(), "Idempotency-Key")
    assert counts() == before


def test_an_honest_report_with_unicode_logs_is_still_recorded(world):
    body = world.report(TASK, logs=["Ωmega ✓", {"step": "😀", "ok": True}])

    assert body["status"] == "clean"


# --- 2. nesting depth ----------------------------------------------------------------------------------------


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize("levels", [MAX_JSON_DEPTH + 1, 500, 100_000])
@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/api/audit/", '{"task_id": "@T", "logs": @N}'),
        ("/api/enforce/", '{"model_id": "@W", "violations": @N}'),
        ("/api/score/", '{"metrics": {"accuracy": @N}, "previous_score": 50}'),
    ],
    ids=["audit", "enforce", "score"],
)
def test_json_nested_too_deep_is_a_400_naming_the_limit(world, counts, path, template, levels):
    # Regression: 500 levels was a 500 (RecursionError while validating); 100,000 would fail in the parser.
    before = counts()

    text = template.replace("@T", TASK).replace("@W", GPT).replace("@N", nested(levels))
    response = post_raw(world.client, path, text)

    assert response.status_code == 400, response.content
    assert response.json()["code"] == "too_deep"
    assert str(MAX_JSON_DEPTH) in response.json()["detail"]
    assert counts() == before


def test_json_at_the_depth_limit_is_read(world):
    entry = json.loads(nested(MAX_JSON_DEPTH - 2))  # the body object and the logs array are two levels

    response = world.client.post("/api/audit/", {"task_id": TASK, "logs": [entry]}, format="json")

    assert response.status_code == 200, response.content


def test_a_number_too_large_for_a_float_is_a_400(world, counts):
    before = counts()

    response = post_raw(world.client, "/api/audit/", f'{{"task_id": "{TASK}", "logs": [1e999]}}')

    assert response.status_code == 400, response.content
    assert counts() == before


# --- 3. limit, offset and date-times -------------------------------------------------------------------------

PAGED = ["/api/workers/", "/api/incidents/"]
BAD_PAGING = [
    ("limit", "9223372036854775808"),
    ("limit", "-1"),
    ("limit", "0"),
    ("limit", "501"),
    ("limit", "ten"),
    ("limit", "1.5"),
    ("limit", "²"),
    ("offset", "9223372036854775808"),
    ("offset", "-1"),
    ("offset", "x"),
]


@pytest.mark.parametrize("path", PAGED)
@pytest.mark.parametrize(("name", "value"), BAD_PAGING)
def test_a_limit_or_offset_out_of_range_is_a_400_naming_it(world, path, name, value):
    # Regression: 2^63 was a 500 (overflow); zero, negative and non-numbers silently meant 50.
    response = world.client.get(path, {name: value})

    assert response.status_code == 400, response.content
    assert names(response.json(), name), response.json()


@pytest.mark.parametrize(("name", "value"), [("limit", "1"), ("limit", "500"), ("offset", "10000000")])
def test_the_documented_bounds_of_limit_and_offset_are_accepted(world, name, value):
    response = world.client.get("/api/workers/", {name: value})

    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/events/", {"after": "9223372036854775808"}, "after"),
        ("/api/incidents/", {"severity": "²"}, "severity"),
        ("/api/incidents/", {"severity": "99999999999999999999"}, "severity"),
        ("/api/incidents/", {"severity": SEVERITY_MAX + 1}, "severity"),
        (f"/api/workers/{GPT}/record/", {"limit": "²"}, "limit"),
    ],
)
def test_other_integer_parameters_are_bounded(world, path, params, field):
    response = world.client.get(path, params)

    assert response.status_code == 400, response.content
    assert names(response.json(), field), response.json()


@pytest.mark.parametrize("name", ["since", "until"])
@pytest.mark.parametrize(
    "value", ["2025-01-01T00:00:00+24:00", "2025-01-01T00:00:00+99:00", "2025-02-30T00:00:00Z", "soon", "\x01"]
)
def test_an_impossible_date_time_is_a_400_naming_the_parameter(world, name, value):
    # Regression: +99:00 was a 500 (Python refuses offsets of a day or more).
    response = world.client.get("/api/incidents/", {name: value})

    assert response.status_code == 400, response.content
    assert names(response.json(), name), response.json()


@pytest.mark.parametrize(
    "value",
    [
        "2025-01-01T00:00:00+16:00",  # was a 500 on PostgreSQL: it takes offsets only to ±15:59
        "2025-01-01T00:00:00-23:59",
        "2025-01-01t00:00:00z",
        "0001-01-01T00:00:00+05:00",  # before the year 1 in UTC
        "9999-12-31T23:59:59-05:00",  # after 9999 in UTC
    ],
)
def test_a_valid_rfc_3339_date_time_is_accepted(world, value):
    world.enforce(GPT, [["hallucination", 3]])

    response = world.client.get("/api/incidents/", {"since": value})

    assert response.status_code == 200, response.content


def test_since_with_a_far_offset_selects_by_the_moment_it_names(world, api, clock):
    world.report(TASK, hallucinated=True)
    reported = clock.now

    # The same instant, written sixteen hours east: the incident is at it, so since includes it and until not.
    at = reported.astimezone(timezone(timedelta(hours=16))).isoformat()

    assert api.get("/api/incidents/", {"since": at})["count"] == 1
    assert api.get("/api/incidents/", {"until": at})["count"] == 0


# --- 6. severity ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("severity", [SEVERITY_MIN - 1, SEVERITY_MAX + 1, -5, 10**30])
def test_an_enforced_severity_off_the_scale_is_a_400_naming_it(world, counts, severity):
    # Regression: any integer was accepted and echoed back (10^30 included).
    before = counts()

    response = world.client.post(
        "/api/enforce/", {"model_id": GPT, "violations": [["hallucination", severity]]}, format="json"
    )

    assert response.status_code == 400, response.content
    assert "violations[0].severity" in response.json(), response.json()
    assert counts() == before


@pytest.mark.parametrize("severity", [SEVERITY_MIN, SEVERITY_MAX, 3.0])
def test_a_severity_on_the_scale_is_enforced(world, severity):
    body = world.enforce(GPT, [["timeout", severity]])

    assert body["status"] == "executed"


# --- 4. every API error is JSON ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/incidents/xyz/", "/api/audit-runs/nope/", "/api/nothing/", "/api/"])
def test_a_path_that_matches_no_route_is_a_json_404(world, path):
    # Regression: Django's HTML 404 page.
    response = world.client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found"


def test_a_404_outside_the_api_is_still_a_page(world):
    response = world.client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_an_unhandled_exception_is_a_json_500_that_leaks_nothing(world, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret-internal-detail at /srv/aura")

    monkeypatch.setattr("governance.api.views.incidents_list", broken)
    world.client.raise_request_exception = False

    response = world.client.get("/api/incidents/")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "internal server error", "code": "server_error"}
    assert b"secret" not in response.content


def test_every_drf_error_body_is_an_object_with_a_code(anon_client, world):
    anonymous = anon_client.get("/api/workers/")
    wrong_method = world.client.delete("/api/workers/")

    assert anonymous.status_code == 401 and anonymous.json()["code"] == "not_authenticated"
    assert wrong_method.status_code == 405 and wrong_method.json()["code"] == "method_not_allowed"


# --- 4. the database connection dropped mid-request ----------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_connection_dropped_mid_report_is_a_json_503_and_writes_nothing(api, counts):
    """The report's backend is terminated from another connection just before the report's third INSERT: its
    first writes are in the open transaction, which dies with the connection."""
    import psycopg

    api.hire(GPT, tier="SENIOR")
    api.register(TASK, model_id=GPT)
    before = counts()
    params = connection.get_connection_params()
    inserts = []

    def terminate_before_third_insert(execute, sql, params_, many, context):
        if sql.lstrip().upper().startswith("INSERT"):
            inserts.append(sql)
            if len(inserts) == 3:
                pid = connection.connection.info.backend_pid
                with psycopg.connect(**params, autocommit=True) as other:
                    other.execute("SELECT pg_terminate_backend(%s)", [pid])
        return execute(sql, params_, many, context)

    api.client.raise_request_exception = False
    with connection.execute_wrapper(terminate_before_third_insert):
        response = api.client.post("/api/audit/", {"task_id": TASK, "hallucinated": True}, format="json")

    assert len(inserts) >= 3, "the report wrote less than expected before the connection went"
    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/json"
    assert int(response["Retry-After"]) > 0
    assert response.json()["code"] == "unavailable"
    connection.close()  # the test's own handle to the dead connection
    assert counts() == before
    # The caller's retry is recorded once.
    assert api.report(TASK, hallucinated=True)["status"] == "violation"


# --- 5. chunked bodies ---------------------------------------------------------------------------------------


def call_wsgi(environ_extra: dict, body: bytes) -> tuple[int, dict, bytes]:
    """One request through the WSGI application as gunicorn hands it a chunked body: already de-chunked,
    wsgi.input_terminated set, no CONTENT_LENGTH."""
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/audit/",
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "localhost",
        "CONTENT_TYPE": "application/json",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
        **environ_extra,
    }
    status = {}

    def start_response(line, headers, exc_info=None):
        status["code"], status["headers"] = int(line.split()[0]), dict(headers)

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        chunks = application(environ, start_response)
        content = b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return status["code"], status["headers"], content


def test_a_chunked_report_is_read_not_taken_as_empty(world, counts):
    # Regression: Django read a body without Content-Length as empty: "task_id: This field is required".
    before = counts()
    body = json.dumps({"task_id": TASK, "hallucinated": True}).encode()

    code, _, content = call_wsgi({"HTTP_AUTHORIZATION": f"Api-Key {world.client.raw_key}"}, body)

    assert code == 200, content
    assert json.loads(content)["status"] == "violation"
    assert counts()["incidents"] == before["incidents"] + 1


def test_a_chunked_body_over_one_megabyte_is_a_413(world, counts):
    before = counts()
    body = json.dumps({"task_id": TASK, "logs": ["x" * 1000] * 1100}).encode()

    code, headers, content = call_wsgi({"HTTP_AUTHORIZATION": f"Api-Key {world.client.raw_key}"}, body)

    assert code == 413
    assert headers["Content-Type"] == "application/json"
    assert not [name for name in headers if is_hop_by_hop(name)]
    assert counts() == before


def test_a_chunked_body_on_a_server_that_does_not_dechunk_is_a_411_not_an_empty_body(world, counts):
    before = counts()

    code, headers, content = call_wsgi({"wsgi.input_terminated": False}, b'{"task_id": "x"}')

    assert code == 411, content
    assert counts() == before
    # Regression (found on `make run`): runserver's wsgiref refuses a hop-by-hop header with a 500. With no
    # Content-Length, it closes the connection instead of reading the unread chunks as a next request.
    assert not [name for name in headers if is_hop_by_hop(name)]
    assert "Content-Length" not in headers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def send_chunked(port: int, key: str, body: bytes) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    pieces = (body[i : i + 4096] for i in range(0, len(body), 4096))
    headers = {"Content-Type": "application/json", "Authorization": f"Api-Key {key}", "Transfer-Encoding": "chunked"}
    conn.request("POST", "/api/audit/", body=pieces, headers=headers, encode_chunked=True)
    response = conn.getresponse()
    return response.status, response.read()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_gunicorn_serves_a_chunked_report_and_refuses_a_chunked_body_over_the_limit(api, counts):
    """A real gunicorn on a free port, on the test database, sent real chunked requests."""
    api.hire(GPT, tier="SENIOR")
    api.register(TASK, model_id=GPT)
    port = free_port()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "AURA_DATA_DIR": str(Path(settings.DATA_DIR) / "gunicorn"),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "aura_project.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        before = counts()
        status, content = send_chunked(
            port, api.client.raw_key, json.dumps({"task_id": TASK, "hallucinated": True}).encode()
        )
        assert status == 200, content
        assert json.loads(content)["status"] == "violation"

        # Just over the limit, so the little gunicorn leaves unread fits in the socket's buffers.
        big = json.dumps({"task_id": TASK, "logs": ["x" * (settings.AURA_MAX_BODY_BYTES - 20)]}).encode()
        status, content = send_chunked(port, api.client.raw_key, big)
        assert status == 413, content
        assert counts()["audit_records"] == before["audit_records"] + 1
    finally:
        server.terminate()
        server.wait(timeout=10)
