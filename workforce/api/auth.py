"""Who is calling: a service key (`Authorization: Api-Key <key>`) or a logged-in user's session."""

from dataclasses import dataclass

from rest_framework import authentication, exceptions

from workforce.api.throttling import FailedAuthThrottle
from workforce.models import ServiceKey

KEYWORD = "Api-Key"


@dataclass(frozen=True)
class ServicePrincipal:
    """The caller behind a service key. Quacks enough like a user for DRF and throttling."""

    key_id: str
    name: str
    role: str

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    pk = None

    def __str__(self) -> str:
        return f"key:{self.name}"


class ServiceKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, raw_key = header.partition(" ")
        if scheme != KEYWORD:
            return None
        raw_key = raw_key.strip()
        if not raw_key:
            _refuse(request, "Empty Api-Key.")
        # One query: the key by its prefix with its role; the hash is then checked here.
        prefix, _, _ = raw_key.partition(".")
        key = ServiceKey.objects.select_related("role").filter(prefix=prefix, revoked=False).first()
        if key is None or not key.is_valid(raw_key) or key.has_expired:
            _refuse(request, "Unknown or revoked API key.")
        return ServicePrincipal(key_id=key.id, name=key.name, role=key.role.name), key

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (with WWW-Authenticate) rather than 403 to an anonymous call.
        return KEYWORD


def _refuse(request, message: str) -> None:
    """401, or 429 with Retry-After once the caller's address has failed too often (FailedAuthThrottle)."""
    wait = FailedAuthThrottle().failed(request)
    if wait is not None:
        raise exceptions.Throttled(wait=wait, detail="Too many failed authentications from this address.")
    raise exceptions.AuthenticationFailed(message)
