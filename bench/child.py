"""The benchmark's Django-side steps, each run in its own process against the database in DATABASE_URL.

    python bench/child.py OP '{"json": "arguments"}'      -> prints one JSON line with the result

Bulk loads are raw `INSERT ... SELECT ... FROM generate_series(...)` statements against the Django tables, so
a million rows load in seconds. Their column lists come from the models: every column the loader does not
set gets the model field's own default, so a field added to a model with a default needs no change here (a
new required field without one stops the load with its name). History rows are copied from the rows just
written, as django-simple-history would have written them ('+', the actor's label).

A separate process per step also gives the scoring run a clean peak-memory figure (ru_maxrss).
"""

import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aura_project.settings")

import django

django.setup()

import inspect  # noqa: E402

from django.db import connection, transaction  # noqa: E402
from django.db.models import AutoField, BigAutoField  # noqa: E402
from django.utils import timezone  # noqa: E402

BENCH_ACTOR = "system:bench-loader"
NO_DEFAULT = object()


# --- model-driven bulk SQL -----------------------------------------------------------------------------------


def _default(field, now):
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return now
    if field.has_default():
        return field.get_default()
    if field.null:
        return None
    if field.get_internal_type() in ("CharField", "TextField", "SlugField") and field.blank:
        return ""
    return NO_DEFAULT


def insert_select(model, source: str, source_params: list, *, exprs: dict | None = None, values: dict | None = None):
    """INSERT INTO <model's table> (every concrete column) SELECT ... FROM <source>.

    `exprs` maps a field's attname to an SQL expression over the source; `values` to a Python value; every
    other column gets the field's default. Returns the number of rows inserted."""
    exprs, values = exprs or {}, values or {}
    now = timezone.now()
    columns, selects, params = [], [], []
    for field in model._meta.concrete_fields:
        name = field.attname
        if name in exprs:
            columns.append(field.column)
            selects.append(exprs[name])
            continue
        if isinstance(field, AutoField | BigAutoField) and field.primary_key and name not in values:
            continue
        value = values[name] if name in values else _default(field, now)
        if value is NO_DEFAULT:
            raise RuntimeError(f"bench loader: {model.__name__}.{name} has no default; teach bench/child.py about it")
        columns.append(field.column)
        selects.append("%s")
        params.append(field.get_db_prep_save(value, connection))
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    sql = f"INSERT INTO {model._meta.db_table} ({quoted}) SELECT {', '.join(selects)} FROM {source}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params + list(source_params))
        return cursor.rowcount


def history_copy(model, where: str, where_params: list, *, history_type: str = "+") -> int:
    """The '+' history rows of the rows of `model` matching `where` (SQL over alias `b`)."""
    history_model = model.history.model
    base_columns = {f.attname: f.column for f in model._meta.concrete_fields}
    exprs = {}
    values = {"history_type": history_type, "history_date": timezone.now()}
    for field in history_model._meta.concrete_fields:
        name = field.attname
        if name in ("history_id", "history_type", "history_date"):
            continue
        if name == "history_actor":
            values[name] = BENCH_ACTOR
        elif name in base_columns:
            exprs[name] = f"b.{connection.ops.quote_name(base_columns[name])}"
    return insert_select(
        history_model, f"{model._meta.db_table} b WHERE {where}", where_params, exprs=exprs, values=values
    )


def _settings_version() -> int:
    from governance.models import GovernanceSettings

    return GovernanceSettings.objects.order_by("-version").values_list("version", flat=True).first() or 1


def _worker_ids(prefix: str) -> list[int]:
    from workforce.models import Worker

    return list(Worker.objects.filter(model_id__startswith=prefix).order_by("pk").values_list("pk", flat=True))


# --- steps ---------------------------------------------------------------------------------------------------


def op_ballast(*, worker_prefix: str, open_tasks: int, capability: str) -> dict:
    """Each worker named `worker_prefix...` gets `open_tasks` more open tasks (task, open attempt, history)."""
    from workforce.models import Assignment, Task

    ids = _worker_ids(worker_prefix)
    n = len(ids) * open_tasks
    if not n:
        return {"tasks": 0}
    now = timezone.now()
    with transaction.atomic():
        insert_select(
            Task,
            "generate_series(1, %s) AS g",
            [n],
            exprs={
                "task_id": "'ballast-' || g",
                "priority": "1 + g %% 10",
                "current_worker_id": f"(ARRAY[{','.join(str(i) for i in ids)}]::bigint[])[1 + g %% {len(ids)}]",
            },
            values={"capability": capability, "status": Task.Status.ASSIGNED, "attempts": 1, "needs_director": False},
        )
        insert_select(
            Assignment,
            f"{Task._meta.db_table} t WHERE t.task_id LIKE 'ballast-%%'",
            [],
            exprs={"task_id": "t.id", "worker_id": "t.current_worker_id"},
            values={"started_at": now, "outcome": Assignment.Outcome.OPEN, "reason": "assigned"},
        )
        history_copy(Task, "b.task_id LIKE 'ballast-%%'", [])
    return {"tasks": n}


def op_scoring_seed(*, workers: int, reports_each: int, violation_every: int = 20) -> dict:
    """A fleet of `workers` with `reports_each` reports each inside the scoring window; one report in
    `violation_every` is a violation with its incident and penalty."""
    from governance.models import AuditRecord, Incident, Penalty
    from workforce.models import Task, Worker

    version = _settings_version()
    n = workers * reports_each
    t0 = time.perf_counter()
    # Spread over the last 27 days, inside the 30-day window, newest first for low g.
    when = "now() - ((g %% 1000) * interval '40 minutes') - interval '1 minute'"
    join = (
        "generate_series(1, %s) AS g"
        f" JOIN {Worker._meta.db_table} w ON w.model_id = 'fleet/w' || ((g - 1) / %s)"
        f" JOIN {Task._meta.db_table} t ON t.task_id = 'fleet-task-' || ((g - 1) / %s)"
    )
    with transaction.atomic():
        insert_select(
            Worker,
            "generate_series(0, %s - 1) AS g",
            [workers],
            exprs={"model_id": "'fleet/w' || g", "name": "'fleet/w' || g"},
            values={"capabilities": ["code"], "provider": "fleet", "budget": 1000},
        )
        insert_select(
            Task,
            f"generate_series(0, %s - 1) AS g JOIN {Worker._meta.db_table} w ON w.model_id = 'fleet/w' || g",
            [workers],
            exprs={"task_id": "'fleet-task-' || g", "current_worker_id": "w.id"},
            values={"capability": "code", "status": Task.Status.ASSIGNED, "attempts": 1},
        )
        insert_select(
            Incident,
            join + " WHERE g %% %s = 0",
            [n, reports_each, reports_each, violation_every],
            exprs={
                "id": "md5('fleet-incident-' || g)::uuid",
                "worker_id": "w.id",
                "task_id": "t.id",
                "reported_at": when,
            },
            values={
                "severity": 3,
                "status": Incident.Status.ACTIONED,
                "violations": [["hallucination", 3]],
                "evidence": ["step 4", "step 5", "step 6", "step 7", "step 8"],
                "settings_version": version,
                "actor_label": BENCH_ACTOR,
            },
        )
        insert_select(
            Penalty,
            join + " WHERE g %% %s = 0",
            [n, reports_each, reports_each, violation_every],
            exprs={"worker_id": "w.id", "incident_id": "md5('fleet-incident-' || g)::uuid", "created_at": when},
            values={
                "reason": "hallucination",
                "severity": 3,
                "points": -30,
                "settings_version": version,
                "actor_label": BENCH_ACTOR,
            },
        )
        insert_select(
            AuditRecord,
            join,
            [n, reports_each, reports_each],
            exprs={
                "report_id": "'fleet-' || g",
                "task_id": "t.id",
                "worker_id": "w.id",
                "hallucinated": f"g %% {violation_every} = 0",
                "duration_ms": "1000 + (g %% 50) * 700",
                "retries": "g %% 3",
                "test_pass_rate": "0.5 + (g %% 50) / 100.0",
                "manager_satisfaction": "0.4 + (g %% 60) / 100.0",
                "confidence": "0.3 + (g %% 70) / 100.0",
                "outcome": f"CASE WHEN g %% {violation_every} = 0 THEN 'violation' ELSE 'clean' END",
                "incident_id": f"CASE WHEN g %% {violation_every} = 0 THEN md5('fleet-incident-' || g)::uuid END",
                "received_at": when,
            },
            values={
                "request_hash": "-",
                "logs": [],
                "response": {},
                "settings_version": version,
                "actor_label": BENCH_ACTOR,
            },
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"reports": n, "seconds": round(time.perf_counter() - t0, 2)}


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _call(fn, **kwargs):
    """Call a service with the keywords it takes: the product's signatures move (an `actor` is added)."""
    params = inspect.signature(fn).parameters
    if "actor" in params and "actor" not in kwargs:
        from workforce.domain.actor import COMMAND

        kwargs["actor"] = COMMAND
    return fn(**{k: v for k, v in kwargs.items() if k in params})


def op_score() -> dict:
    """One scoring run over the whole fleet, in this process: time, statements, peak memory."""
    from governance.services.scoring_runs import scoring_run_execute, scoring_run_start

    run, _ = _call(scoring_run_start, trigger="command", now=timezone.now(), key=f"bench-{time.time()}", enqueue=False)
    statements = 0

    def count(execute, sql, params, many, context):
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    rss_before = _rss_mb()
    with connection.execute_wrapper(count):
        t0 = time.perf_counter()
        run = scoring_run_execute(run_id=run.pk)
        seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {
        "seconds": round(seconds, 3),
        "workers_scored": run.workers_scored,
        "status": run.status,
        "statements": statements,
        "peak_rss_mb": round(peak, 1),
        "rss_before_mb": round(rss_before, 1),
    }


def op_scale_base(*, workers: int, tasks: int) -> dict:
    """The workers and tasks the million incidents hang on."""
    from workforce.models import Task, Worker

    with transaction.atomic():
        insert_select(
            Worker,
            "generate_series(0, %s - 1) AS g",
            [workers],
            exprs={"model_id": "'scale/w' || g", "name": "'scale/w' || g"},
            values={"capabilities": ["archive"], "provider": "scale"},
        )
        insert_select(
            Task,
            f"generate_series(0, %s - 1) AS g JOIN {Worker._meta.db_table} w ON w.model_id = 'scale/w' || (g %% %s)",
            [tasks, workers],
            exprs={"task_id": "'scale-task-' || g", "current_worker_id": "w.id"},
            values={"capability": "archive", "status": Task.Status.COMPLETED, "attempts": 1},
        )
    return {"workers": workers, "tasks": tasks}


def op_incidents(*, count: int, tag: str, min_age_days: float, max_age_days: float, history: bool) -> dict:
    """`count` incidents over the scale workers and tasks, aged between the two bounds, each with its '+'
    history row if asked. `tag` marks them (actor_label) so the history copy finds them."""
    from governance.models import Incident
    from workforce.models import Task, Worker

    workers = Worker.objects.filter(model_id__startswith="scale/w").count()
    tasks = Task.objects.filter(task_id__startswith="scale-task-").count()
    version = _settings_version()
    label = f"bench:{tag}"
    t0 = time.perf_counter()
    span = max_age_days - min_age_days
    with transaction.atomic():
        n = insert_select(
            Incident,
            "generate_series(1, %s) AS g"
            f" JOIN {Worker._meta.db_table} w ON w.model_id = 'scale/w' || (g %% %s)"
            f" JOIN {Task._meta.db_table} t ON t.task_id = 'scale-task-' || (g %% %s)",
            [count, workers, tasks],
            exprs={
                "id": "gen_random_uuid()",
                "worker_id": "w.id",
                "task_id": "t.id",
                "severity": "1 + g %% 3",
                "status": "(ARRAY['OPEN','ACTIONED','ACTIONED','CLOSED'])[1 + g %% 4]",
                "reported_at": (
                    f"now() - interval '{min_age_days} days' - (g::float / {count}) * interval '{span} days'"
                ),
            },
            values={
                "violations": [["hallucination", 3]],
                "evidence": ["step 4", "step 5", "step 6", "step 7", "step 8"],
                "settings_version": version,
                "actor_label": label,
            },
        )
    if history:
        with transaction.atomic():
            history_copy(Incident, "b.actor_label = %s", [label])
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Incident._meta.db_table}")
        if history:
            cursor.execute(f"ANALYZE {Incident.history.model._meta.db_table}")
    return {"incidents": n, "seconds": round(time.perf_counter() - t0, 2)}


def op_session(*, username: str = "director") -> dict:
    """A logged-in session for the Director, as the admin's login would make it."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore

    user = get_user_model().objects.get(username=username)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return {"session_key": session.session_key, "user_id": user.pk}


def op_purge() -> dict:
    """The retention purge, as the daily job runs it."""
    from governance.models import PurgeLog
    from governance.services.purge import purge_expired

    t0 = time.perf_counter()
    result = _call(purge_expired, now=timezone.now(), actor_kind=PurgeLog.Actor.COMMAND)
    seconds = time.perf_counter() - t0
    counts = {table: n for table, n in result.counts.items() if not table.endswith("(redacted)")}
    return {"seconds": round(seconds, 3), "counts": counts, "rows": sum(counts.values())}


OPS = {
    "ballast": op_ballast,
    "scoring_seed": op_scoring_seed,
    "score": op_score,
    "scale_base": op_scale_base,
    "incidents": op_incidents,
    "session": op_session,
    "purge": op_purge,
}


if __name__ == "__main__":
    op, arguments = sys.argv[1], json.loads(sys.argv[2] if len(sys.argv) > 2 else "{}")
    print("BENCH-RESULT " + json.dumps(OPS[op](**arguments)), flush=True)
