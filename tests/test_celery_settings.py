"""The broker's settings against the tasks they must serve: Redis must never hand a running task to a second
worker, and a dead worker's run must come back long before Redis would redeliver it."""

from django.conf import settings

from aura_project.celery import app
from aura_project.schedule import BEAT_SCHEDULE


def _task_time_limits() -> dict[str, int]:
    app.loader.import_default_modules()
    return {
        name: task.time_limit or settings.CELERY_TASK_TIME_LIMIT
        for name, task in app.tasks.items()
        if not name.startswith("celery.")
    }


def test_redis_visibility_timeout_outlasts_every_tasks_hard_time_limit():
    limits = _task_time_limits()

    assert "governance.tasks.purge_expired" in limits
    longest = max(limits.values())
    assert settings.REDIS_VISIBILITY_TIMEOUT > longest, (longest, limits)


def test_a_dead_workers_run_is_found_by_its_lease_well_before_redis_would_redeliver_it():
    sweep = BEAT_SCHEDULE["sweep-pending-runs"]["schedule"].total_seconds()

    assert settings.AURA_RUN_LEASE_SECONDS + sweep < settings.REDIS_VISIBILITY_TIMEOUT / 10
