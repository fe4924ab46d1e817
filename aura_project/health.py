"""GET /healthz: 200 when the database and the broker answer, 503 naming what failed.

It needs no login, so it says only which part failed; the error itself (hosts, users) goes to the log."""

import logging

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

log = logging.getLogger(__name__)


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means "down"; the message says which
        return f"{type(exc).__name__}: {exc}"
    return None


def _check_broker() -> str | None:
    from aura_project.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@never_cache
@require_GET
def healthz(request):
    checks = {"database": _check_database(), "broker": _check_broker()}
    failed = {name: error for name, error in checks.items() if error}
    for name, error in failed.items():
        log.warning("healthz: %s unavailable: %s", name, error)
    body = {
        "status": "ok" if not failed else "unavailable",
        "checks": {name: "unavailable" if error else "ok" for name, error in checks.items()},
    }
    if failed:
        body["failed"] = sorted(failed)
    return JsonResponse(body, status=503 if failed else 200)
