"""Who a django-simple-history row names.

Every write service runs `with acting(actor):`, so each history row it writes (one save at a time or in bulk)
names the actor: `history_user` for a person, and `history_actor` (the actor's label: `user:director`,
`key:manager-prod`, `system:beat`) for everyone, keys and system components included. Outside a service
(a stock admin form), the logged-in user of the request is named, as before.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib.auth import get_user_model
from django.db import models

_acting: ContextVar = ContextVar("aura_acting", default=None)


class ActorHistory(models.Model):
    """Extra columns on every historical table."""

    history_actor = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        abstract = True


@contextmanager
def acting(actor):
    """Name `actor` on the history rows written inside the block. Nested blocks keep the outermost actor:
    HR acting inside the Manager's report still records the Manager's key as who set it going."""
    if _acting.get() is not None:
        yield actor
        return
    token = _acting.set(actor)
    try:
        yield actor
    finally:
        _acting.reset(token)


def current_actor():
    return _acting.get()


def history_attrs() -> dict:
    """The column a bulk history write should fill (bulk_*_with_history's custom_historical_attrs). The user,
    if any, goes in their default_user: the model takes the user field by one name only."""
    actor = _acting.get()
    return {} if actor is None else {"history_actor": actor.label}


def history_user(instance=None, request=None, **kwargs):
    user = getattr(request, "user", None) if request is not None else None
    if isinstance(user, get_user_model()) and user.is_authenticated:
        return user
    return None


def stamp_history_row(sender, history_instance=None, **kwargs) -> None:
    """pre_create_historical_record: fill the actor columns of a history row written by one save()."""
    actor = _acting.get()
    if actor is None:
        request_user = getattr(history_instance, "history_user", None)
        if request_user is not None and not history_instance.history_actor:
            history_instance.history_actor = f"user:{request_user.get_username()}"
        return
    history_instance.history_actor = actor.label
    if actor.user_id is not None:
        history_instance.history_user_id = actor.user_id
