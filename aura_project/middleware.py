"""Refuse oversized bodies before anything reads them."""

from django.conf import settings
from django.http import JsonResponse


class BodySizeLimitMiddleware:
    """413 for a declared body over AURA_MAX_BODY_BYTES. Chunked bodies without a length are caught when
    read (Django's DATA_UPLOAD_MAX_MEMORY_SIZE), and the exception handler answers 413 for those too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse({"detail": "Content-Length is not a number"}, status=400)
        if length > settings.AURA_MAX_BODY_BYTES:
            return JsonResponse(
                {"detail": f"request body over {settings.AURA_MAX_BODY_BYTES} bytes", "code": "too_large"},
                status=413,
            )
        return self.get_response(request)


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
