"""Request guards that run before any view: body size, chunked bodies, slashless seed paths, unstorable text;
and JSON errors under /api/ in development too."""

import io
import json
import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.urls import Resolver404, resolve

from aura_project import error_views
from aura_project.validation import text_problem

request_log = logging.getLogger("django.request")


class BodySizeLimitMiddleware:
    """413 for a declared body over AURA_MAX_BODY_BYTES. A chunked body has no declared length: ChunkedBodyWSGI
    reads it first and gives it one, so the same limit holds."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse({"detail": "Content-Length is not a number", "code": "bad_request"}, status=400)
        if length > settings.AURA_MAX_BODY_BYTES:
            return JsonResponse(
                {"detail": f"request body over {settings.AURA_MAX_BODY_BYTES} bytes", "code": "too_large"},
                status=413,
            )
        return self.get_response(request)


class ChunkedBodyWSGI:
    """WSGI wrapper: a `Transfer-Encoding: chunked` body is read, not taken as empty.

    A chunked request has no CONTENT_LENGTH, and Django reads a body without one as empty, so a valid chunked
    report was refused with "task_id: This field is required". gunicorn de-chunks the body and says so with
    `wsgi.input_terminated` (PEP 3333's reading to end of input is then safe); this wrapper reads it, up to
    AURA_MAX_BODY_BYTES (413 past that), and hands Django the bytes with their length. A server that does not
    de-chunk (runserver) gets a 411 asking for a Content-Length rather than a body silently dropped."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if not chunked or environ.get("CONTENT_LENGTH"):
            return self.app(environ, start_response)
        if not environ.get("wsgi.input_terminated"):
            return _json(start_response, 411, "a chunked body needs a server that de-chunks it; send Content-Length")
        limit = settings.AURA_MAX_BODY_BYTES
        stream, parts, size = environ["wsgi.input"], [], 0
        while size <= limit:
            part = stream.read(min(65536, limit + 1 - size))
            if not part:
                break
            parts.append(part)
            size += len(part)
        if size > limit:
            return _json(start_response, 413, f"request body over {limit} bytes", code="too_large")
        body = b"".join(parts)
        environ = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
        return self.app(environ, start_response)


def _json(start_response, status: int, detail: str, *, code: str = "length_required"):
    """The refusal, with no hop-by-hop header (PEP 3333 forbids them to an application; runserver's wsgiref
    refused `Connection: close` with a 500). A 411 goes without a Content-Length, so the server closes the
    connection rather than read the unread chunks as a next request."""
    body = json.dumps({"detail": detail, "code": code}).encode()
    reason = {411: "Length Required", 413: "Request Entity Too Large"}[status]
    headers = [("Content-Type", "application/json")]
    if status != 411:
        headers.append(("Content-Length", str(len(body))))
    start_response(f"{status} {reason}", headers)
    return [body]


class ApiSlashMiddleware:
    """The seeds' services answered `POST /audit`, `/enforce` and `/score` without a trailing slash. A Manager
    written against them only changes its base URL, so `/api/audit` must work as `/api/audit/` does. Django's
    APPEND_SLASH would answer a POST with a redirect that drops the body; here the path is completed instead."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith("/api/") and not request.path_info.endswith("/"):
            request.path_info += "/"
        return self.get_response(request)


class ApiTextGuardMiddleware:
    """400 naming the parameter for a NUL character in an API path or query parameter. Ids in the path and
    filters in the query reach the database, and PostgreSQL refuses NUL in text (a 500). Body fields are
    checked by their serializers (workforce/api/fields.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith("/api/"):
            if bad := self._bad_parameter(request):
                name, problem = bad
                return JsonResponse({name: [problem]}, status=400)
        return self.get_response(request)

    @staticmethod
    def _bad_parameter(request) -> tuple[str, str] | None:
        for name, values in request.GET.lists():
            for text in (name, *values):
                if problem := text_problem(text):
                    return (name if text_problem(name) is None else "query"), problem
        if problem := text_problem(request.path_info):
            try:
                kwargs = resolve(request.path_info).kwargs
            except Resolver404:
                kwargs = {}
            named = [key for key, value in kwargs.items() if isinstance(value, str) and text_problem(value)]
            return (named[0] if named else "path"), problem
        return None


class ApiDebugErrorsMiddleware:
    """Under /api/, errors answer JSON in development too (DEBUG on, as `make run` runs). There Django renders
    a URL that matches no route, and an exception that escapes a view, as its HTML debug pages without calling
    the JSON handlers of aura_project.error_views; this hands both to them, so a Manager developed against
    `make run` sees the same bodies as in production. The exception is still logged with its traceback."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            settings.DEBUG
            and error_views.is_api(request)
            and response.status_code == 404
            and response.get("Content-Type", "").startswith("text/html")
        ):
            return error_views.page_not_found(request, None)
        return response

    def process_exception(self, request, exception):
        if not settings.DEBUG or not error_views.is_api(request) or isinstance(exception, Http404 | PermissionDenied):
            return None
        request_log.error("Internal Server Error: %s", request.path, exc_info=True, extra={"request": request})
        return error_views.server_error(request)
