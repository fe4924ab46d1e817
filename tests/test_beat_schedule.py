"""Beat can send every entry of the schedule.

The services behind the beat jobs have their own tests, which call them directly; only sending a message
through Celery shows whether Celery accepts the task at all. A task whose own time_limit is below the global
soft limit is refused in apply_async, so beat logged an error every tick and the job never ran.
"""

import itertools
from collections.abc import Iterator

import pytest
from celery import Celery
from celery.beat import Scheduler
from django.conf import settings

from aura_project.schedule import BEAT_SCHEDULE

_apps = itertools.count()


@pytest.fixture
def beat_app(monkeypatch) -> Iterator[Celery]:
    """A Celery app configured like production's (aura_project/celery.py), on an in-memory broker.

    Celery reads the broker's address from the environment before its configuration, so that is cleared
    too. Only the broker and the eager switch differ from production: the global time limits, acks_late and
    the rest come from the same settings."""
    for name in ("CELERY_BROKER_URL", "CELERY_BROKER_READ_URL", "CELERY_BROKER_WRITE_URL"):
        monkeypatch.delenv(name, raising=False)
    app = Celery(f"aura_beat_check_{next(_apps)}", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(
        broker_url="memory://", broker_transport_options={}, task_always_eager=False, beat_schedule=BEAT_SCHEDULE
    )
    app.autodiscover_tasks()
    app.loader.import_default_modules()  # what beat does on start, so the tasks are registered as there
    app.finalize(auto=True)
    yield app
    app.close()


def _drain(app: Celery, queue: str) -> list[dict]:
    """Take every message off the queue and return their headers."""
    headers = []
    with app.connection_for_read() as connection:
        channel = connection.default_channel
        while (message := channel.basic_get(queue, no_ack=True)) is not None:
            headers.append(message.headers)
    return headers


def test_the_beat_app_uses_the_global_time_limits_of_production(beat_app):
    assert beat_app.conf.task_soft_time_limit == settings.CELERY_TASK_SOFT_TIME_LIMIT
    assert beat_app.conf.task_time_limit == settings.CELERY_TASK_TIME_LIMIT
    assert beat_app.conf.broker_url == "memory://"


@pytest.mark.parametrize("task_name", sorted({entry["task"] for entry in BEAT_SCHEDULE.values()}))
def test_every_scheduled_task_has_a_soft_limit_below_its_hard_limit(beat_app, task_name):
    task = beat_app.tasks[task_name]
    assert task.soft_time_limit and task.time_limit
    assert task.soft_time_limit < task.time_limit


def test_every_task_the_services_queue_has_a_soft_limit_below_its_hard_limit(beat_app):
    # A hard limit above the global soft one is accepted, but the inherited soft limit (540 s) would stop the
    # task long before its own hard limit: a scoring run or purge allowed 30 or 60 minutes would die at 9.
    tasks = {name: task for name, task in beat_app.tasks.items() if name.startswith("governance.tasks.")}
    assert tasks
    inherits_soft_limit = {
        name
        for name, task in tasks.items()
        if task.soft_time_limit == settings.CELERY_TASK_SOFT_TIME_LIMIT
        and task.time_limit != settings.CELERY_TASK_TIME_LIMIT
    }
    wrong = {
        name: (task.soft_time_limit, task.time_limit)
        for name, task in tasks.items()
        if name in inherits_soft_limit or not (task.soft_time_limit and task.soft_time_limit < task.time_limit)
    }
    assert wrong == {}


def test_beat_sends_a_message_for_every_entry_of_the_schedule(beat_app):
    queue = beat_app.conf.task_default_queue
    _drain(beat_app, queue)  # the memory broker is process-wide: start from an empty queue
    scheduler = Scheduler(app=beat_app, lazy=False)

    sent = {}
    with beat_app.producer_or_acquire() as producer:
        for name in BEAT_SCHEDULE:
            entry = scheduler.schedule[name]
            # A task missing from the registry would go through send_task, which skips the limit check.
            assert entry.task in beat_app.tasks, f"{entry.task} is not registered"
            # Beat's own sending step: it raises SchedulingError where beat would log "Message Error".
            sent[name] = scheduler.apply_async(entry, producer=producer, advance=False).id

    messages = {headers["id"]: headers["task"] for headers in _drain(beat_app, queue)}
    assert messages == {sent[name]: entry["task"] for name, entry in BEAT_SCHEDULE.items()}
