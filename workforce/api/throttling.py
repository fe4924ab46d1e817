from rest_framework.throttling import SimpleRateThrottle


class KeyRateThrottle(SimpleRateThrottle):
    """One bucket per service key or user, counted in the default cache (Redis when configured)."""

    scope = "key"

    def get_cache_key(self, request, view):
        user = request.user
        key_id = getattr(user, "key_id", None)
        if key_id:
            ident = f"key:{key_id}"
        elif user and user.is_authenticated:
            ident = f"user:{user.pk}"
        else:
            ident = f"anon:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
