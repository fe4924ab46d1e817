"""Who a django-simple-history row names.

Every write service runs `with acting(actor):`, so each history row it writes (one save at a time or in bulk)
names the actor: `history_user` for a person, and `history_actor` (the actor's label: `user:director`,
`key:manager-prod`, `system:beat`) for everyone, keys and system components included. Outside a service
(a stock admin form), the logged-in user of the request is named, as before.
"""

import logging
from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib.auth import get_user_model
from django.db import models

_acting: ContextVar = ContextVar("aura_acting", default=None)
log = logging.getLogger(__name__)


class ActorHistory(models.Model):
    """Extra columns on every historical table."""

    history_actor = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        abstract = True


@contextmanager
def acting(actor):
    """Name `actor` on the history rows written inside the block. Nested blocks keep the outermost actor:
    HR acting inside the Manager's report still records the Manager's key as who set it going.

    The outermost block is also the whole service call: the follow-up work it queued (`follow_up`) runs when it
    ends without an error, after the service's own transaction has committed."""
    if _acting.get() is not None:
        yield actor
        return
    token = _acting.set(actor)
    queued = _follow_ups.set([])
    try:
        yield actor
        pending = _follow_ups.get()
    finally:
        _follow_ups.reset(queued)
        _acting.reset(token)
    if not pending:
        return
    with acting(actor):  # the follow-ups act for the same caller (and may queue follow-ups of their own)
        for work in pending:
            try:
                work()
            except Exception:  # it was made durable before; the sweeper will run it again
                log.exception("follow-up work failed after commit; the sweeper retries it")


_follow_ups: ContextVar = ContextVar("aura_follow_ups", default=None)


def follow_up(work) -> bool:
    """Queue `work` to run when the current service call ends, after its transaction commits. False when there is
    no service call around (the caller then relies on the sweeper)."""
    queue = _follow_ups.get()
    if queue is None:
        return False
    queue.append(work)
    return True


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
