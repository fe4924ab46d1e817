"""Who a django-simple-history row names. A service key is not a User, so its changes name nobody there;
the DisciplinaryAction and event rows say which service acted."""

from django.contrib.auth import get_user_model


def history_user(instance=None, request=None, **kwargs):
    user = getattr(request, "user", None) if request is not None else None
    if isinstance(user, get_user_model()) and user.is_authenticated:
        return user
    return None
