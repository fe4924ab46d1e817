"""Django's error handlers, answering JSON under /api/ (HTML elsewhere: the admin and the control room).

They serve what DRF's own handler never sees: a URL that matches no route (a malformed UUID in
/api/incidents/xyz/), and any exception that escapes a view. An escaped exception answers 500 with nothing of
its internals (Django has already logged it); a dropped or refused database connection answers 503 with
Retry-After, as the caller may simply try again: the request's transaction was rolled back with it.
"""

import sys

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.views import defaults

RETRY_AFTER_SECONDS = 5


def is_api(request) -> bool:
    return request.path_info.startswith("/api/")


def bad_request(request, exception):
    if not is_api(request):
        return defaults.bad_request(request, exception)
    return JsonResponse({"detail": "bad request", "code": "bad_request"}, status=400)


def permission_denied(request, exception):
    if not is_api(request):
        return defaults.permission_denied(request, exception)
    return JsonResponse({"detail": "permission denied", "code": "permission_denied"}, status=403)


def page_not_found(request, exception):
    if not is_api(request):
        return defaults.page_not_found(request, exception)
    return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)


def server_error(request):
    if not is_api(request):
        return defaults.server_error(request)
    # Django calls the handler inside its `except` block, so the exception is still at hand.
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        response = JsonResponse(
            {"detail": "the database is unavailable; try again shortly", "code": "unavailable"}, status=503
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return JsonResponse({"detail": "internal server error", "code": "server_error"}, status=500)
