"""Schema-driven fuzzing: schemathesis sends every operation of our OpenAPI schema data generated from it, as a
Manager and as a Viewer, straight into the WSGI application (no server). Pass: no 5xx, every status code
documented and every body matching its schema, and no request the schema calls valid refused with a 400 or 422.

Bounded: FUZZ_EXAMPLES cases per operation and key, and FUZZ_SECONDS of wall time per key; both can be raised
from the environment for a longer hunt (AURA_FUZZ_EXAMPLES, AURA_FUZZ_SECONDS). The figures are printed, and
written to AURA_DATA_DIR/fuzz-figures.json.
"""

import json
import os
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from aura_project.wsgi import application

pytestmark = pytest.mark.django_db

FUZZ_EXAMPLES = int(os.environ.get("AURA_FUZZ_EXAMPLES", "25"))
FUZZ_SECONDS = float(os.environ.get("AURA_FUZZ_SECONDS", "25"))
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, positive_data_acceptance]


@pytest.fixture
def api_schema():
    """Our schema as the API serves it (GET /api/schema/ builds the same), loaded for schemathesis."""
    raw = json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str))
    schema = schemathesis.openapi.from_dict(raw)
    # Every free-text field's pattern excludes NUL (the API refuses it with a 400, test_errors_and_limits.py);
    # schemathesis would otherwise slip NUL past the pattern on purpose.
    # Strings are Unicode text: no lone surrogates (refused with a 400 too, and tested there).
    schema.config.generation.update(allow_x00=False, codec="utf-8")
    schema.app = application
    return schema


@pytest.fixture
def same_connection():
    """The WSGI handler closes the database connection after each request, as a server should; the test's
    transaction lives on that connection, so (as Django's own test client does) it is kept open here."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def fresh_ids(case):
    """What OpenAPI cannot state: an idempotency key (the Idempotency-Key header, a report's `report_id`) names one
    request, and the same key with another body is a documented 422; a report's `report_id` and its header, when
    both are given, are the same id (a different pair is a documented 400). A client draws a fresh key for each
    new request, and so does this test."""
    key = f"fuzz-{uuid.uuid4().hex}"
    if case.headers and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = key
    if isinstance(case.body, dict) and case.body.get("report_id"):
        case.body["report_id"] = key
    return case


def fuzz(schema, key: str, deadline: float) -> dict:
    """Every operation under one key; the figures and the first failures found."""
    figures = {"requests": 0, "5xx": 0, "failures": 0, "statuses": Counter(), "examples": []}
    headers = {"Authorization": f"Api-Key {key}"}
    for result in schema.get_all_operations():
        operation = result.ok()
        if time.monotonic() > deadline:
            figures["skipped_for_time"] = figures.get("skipped_for_time", 0) + 1
            continue

        @given(case=operation.as_strategy().map(fresh_ids))
        @hypothesis_settings(
            max_examples=FUZZ_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            if time.monotonic() > deadline:
                return
            response = case.call(headers=headers)
            figures["requests"] += 1
            figures["statuses"][response.status_code] += 1
            if response.status_code >= 500:
                figures["5xx"] += 1
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except (Exception, BaseExceptionGroup) as failure:  # every kind of check failure is counted and shown
                figures["failures"] += 1
                if len(figures["examples"]) < 15:
                    figures["examples"].append(
                        f"{case.method} {case.formatted_path} -> {response.status_code}: {str(failure)[:600]}"
                    )

        try:
            run()
        except Unsatisfiable:
            pass
    return figures


def test_every_operation_holds_to_the_schema_under_fuzzing(api_schema, same_connection, manager_key, viewer_key):
    report = {}
    for persona, client in (("manager", manager_key), ("viewer", viewer_key)):
        started = time.monotonic()
        figures = fuzz(api_schema, client.raw_key, deadline=started + FUZZ_SECONDS)
        figures["seconds"] = round(time.monotonic() - started, 1)
        figures["statuses"] = dict(sorted(figures["statuses"].items()))
        report[persona] = figures
    print("\nschemathesis figures:", json.dumps(report, indent=1))
    Path(settings.DATA_DIR, "fuzz-figures.json").write_text(json.dumps(report, indent=1))

    for persona, figures in report.items():
        assert figures["requests"] > 0, persona
        assert figures["5xx"] == 0, (persona, figures["examples"])
        assert figures["failures"] == 0, (persona, figures["examples"])
