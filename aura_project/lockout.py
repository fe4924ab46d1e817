"""The admin login's lockout (django-axes): which address a login comes from, and the page a locked login gets.

docs/operations.md "Admin login lockout" tells the Director how it locks and how to unlock.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from rest_framework.throttling import BaseThrottle


def client_address(request: HttpRequest) -> str | None:
    """The address the API's throttles count (AURA_NUM_PROXIES), so a login cannot spoof X-Forwarded-For either."""
    return BaseThrottle().get_ident(request)


def lockout_response(request: HttpRequest, original_response=None, credentials: dict | None = None) -> HttpResponse:
    """A page that says when the login unlocks and how the Director unlocks it sooner."""
    from axes.helpers import get_client_username

    cool_off = settings.AXES_COOLOFF_TIME
    context = {
        "username": get_client_username(request, credentials) or "",
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "cool_off_minutes": int(cool_off.total_seconds() // 60),
        # Each refused attempt, this one included, restarts the cool-off (axes's default
        # AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT), so the lock ends a cool-off from now.
        "unlocks_at": timezone.now() + cool_off,
    }
    return render(request, "axes/lockout.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)
