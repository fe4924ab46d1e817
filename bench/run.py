"""Issue 8's benchmarks: Aura Orchestra against the seeds' own design and against raw inserts, in one run.

    make bench                                   # the full run (under 30 minutes on 2 cores)
    make bench BENCH_ARGS=--quick                # a smoke run of a few minutes
    .venv/bin/python bench/run.py --help         # sizes, knobs and sections

Everything runs on PostgreSQL in throwaway databases (aura_bench_<pid>_*), dropped at the end; the product runs
as in production (gunicorn sync workers, DEBUG off, a Celery worker on Redis), the seeds' three FastAPI
services under uvicorn. One table at the end; docs/PERFORMANCE.md gets it with the machine, command and date.
See bench/README.md for what each figure measures.
"""

import argparse
import json
import os
import platform
import random
import re
import shlex
import signal
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH / "seeds_baseline"))

try:
    import psycopg  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError as missing:  # pragma: no cover
    sys.exit(f"{missing.name} is missing: run `make bench` (it installs requirements.txt and bench/requirements.txt)")

from common import SEED_TABLES  # noqa: E402
from ingestion import Ingestion  # noqa: E402
from loadgen import JsonClient, closed_loop, step  # noqa: E402
from manager import SeedsManager  # noqa: E402
from report import Table  # noqa: E402
from scale import Scale  # noqa: E402
from servers import ROOT, Databases, Product, SeedServices  # noqa: E402

FULL = {
    "reports": 2000,
    "workers": 50,
    "open_tasks": "0,500",
    "clients": "1,4,16",
    "batch_sizes": "100,500",
    "phase_seconds": 45.0,
    "fleet_sizes": "1000,10000",
    "reports_each": 100,
    "incidents": 1_000_000,
    "purge_rows": 1_000_000,
    "purge_seconds": 240.0,
}
QUICK = {
    "reports": 240,
    "workers": 20,
    "open_tasks": "0,50",
    "clients": "1,4,16",
    "batch_sizes": "100,500",
    "phase_seconds": 10.0,
    "fleet_sizes": "100,1000",
    "reports_each": 20,
    "incidents": 20_000,
    "purge_rows": 20_000,
    "purge_seconds": 60.0,
}
SECTIONS = ("ingestion", "scoring", "admin", "purge")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--quick", action="store_true", help="a small smoke run (sizes below default to " + json.dumps(QUICK) + ")"
    )
    size = p.add_argument_group("sizes (defaults: " + json.dumps(FULL) + ")")
    size.add_argument(
        "--reports", type=int, help="reports per ingestion phase (each phase also stops at --phase-seconds)"
    )
    size.add_argument("--workers", type=int, help="workers the ingestion reports are spread over")
    size.add_argument(
        "--open-tasks", help="open tasks each ingestion worker holds besides the reported ones; a list runs each"
    )
    size.add_argument("--clients", help="concurrent clients of the single-POST phases")
    size.add_argument("--batch-sizes", help="reports per POST /api/audit/batch/")
    size.add_argument("--phase-seconds", type=float, help="time cap of each ingestion phase")
    size.add_argument("--fleet-sizes", help="workers in each scoring run")
    size.add_argument("--reports-each", type=int, help="reports per worker in the scoring runs")
    size.add_argument("--incidents", type=int, help="incidents behind the admin pages")
    size.add_argument("--purge-rows", type=int, help="expired incidents the purge deletes (each with a history row)")
    size.add_argument("--purge-seconds", type=float, help="time cap of the purge (rows/s is then from what it did)")
    p.add_argument("--violation-rate", type=float, default=0.256, help="share of reports that are violations")
    p.add_argument(
        "--offenders",
        type=float,
        default=0.3,
        help="share of the ingestion workers that make all the violations (below the spike guard's third)",
    )
    p.add_argument("--only", help=f"comma list of sections to run: {','.join(SECTIONS)}")
    p.add_argument(
        "--pg",
        default=os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432"),
        help="PostgreSQL server URL (no database)",
    )
    p.add_argument(
        "--redis",
        default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11"),
        help="Redis for the broker and the throttle (never db 0)",
    )
    p.add_argument("--gunicorn-workers", type=int, default=4)
    p.add_argument("--uvicorn-workers", type=int, default=4)
    p.add_argument("--celery-concurrency", type=int, default=2)
    p.add_argument(
        "--output", default=str(ROOT / "docs" / "PERFORMANCE.md"), help="where the report goes ('-': nowhere)"
    )
    p.add_argument("--keep-logs", action="store_true", help="keep the server logs (their folder is printed)")
    args = p.parse_args(argv)
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.open_tasks = _ints(args.open_tasks)
    args.clients = _ints(args.clients)
    args.batch_sizes = _ints(args.batch_sizes)
    args.fleet_sizes = _ints(args.fleet_sizes)
    args.only = set(args.only.split(",")) if args.only else set(SECTIONS)
    if unknown := args.only - set(SECTIONS):
        p.error(f"unknown sections: {', '.join(sorted(unknown))}")
    if args.redis.rstrip("/").endswith("/0") or args.redis.rstrip("/").count("/") < 3:
        p.error("--redis must name a database other than 0 (e.g. redis://127.0.0.1:6379/11)")
    return args


def _ints(text) -> list[int]:
    return [int(x) for x in str(text).split(",") if x.strip()]


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(ram, 1) if ram else None,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


class Bench(Ingestion, Scale):
    """One benchmark run: its databases, servers, figures and notes."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.table = Table()
        self.notes: list[str] = []
        self.started = time.monotonic()
        self.log_dir = Path(tempfile.mkdtemp(prefix=f"aura_bench_{os.getpid()}_"))
        self.dbs = Databases(args.pg, f"aura_bench_{os.getpid()}")
        self.product = Product(
            dbs=self.dbs,
            redis_url=args.redis,
            log_dir=self.log_dir,
            gunicorn_workers=args.gunicorn_workers,
            celery_concurrency=args.celery_concurrency,
        )
        self.seeds: SeedServices | None = None
        self.template = ""
        self.seeds_db = ""
        self.key = ""
        self.pg_version = ""
        self.server_errors: Counter = Counter()
        self.current_db = ""

    # --- set-up and tear-down --------------------------------------------------------------------------------

    def setup(self) -> None:
        print(f"Aura Orchestra benchmarks (issue 8); logs in {self.log_dir}")
        self.pg_version = self.dbs.server_version()
        step(f"PostgreSQL {self.pg_version}; template database: migrate, bootstrap, a Manager key, collectstatic")
        self.template = self.dbs.create("template")
        self.product.manage(self.template, "migrate", "--noinput")
        self.product.manage(self.template, "bootstrap")
        out = self.product.manage(self.template, "issue_api_key", "bench-manager", "--role", "manager")
        self.key = out.strip().splitlines()[-1].strip()
        # The admin's pages need the collected static files in production (the manifest storage).
        self.product.manage(self.template, "collectstatic", "--noinput", "-v", "0")
        step("the seeds' database and their three services (auditor, hr, accountant) under uvicorn")
        self.seeds_db = self.dbs.create("seeds")
        with self.dbs.connect(self.seeds_db, autocommit=True) as conn:
            conn.execute((BENCH / "seeds_baseline" / "schema.sql").read_text())
        self.seeds = SeedServices(
            seeds_db_url=self.dbs.url(self.seeds_db), log_dir=self.log_dir, workers=self.args.uvicorn_workers
        )
        self.seeds.start()

    def teardown(self) -> None:
        self.product.stop()
        if self.seeds:
            self.seeds.stop()
        self.dbs.drop_all()
        self.dbs.admin.close()

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Api-Key {self.key}"}

    def client(self, timeout: float = 35.0) -> JsonClient:
        return JsonClient(self.product.url, headers=self.auth, timeout=timeout)

    def seeds_manager(self) -> SeedsManager:
        return SeedsManager(self.seeds.urls, lambda url: JsonClient(url, timeout=35.0))

    def truncate_seeds(self) -> None:
        with self.dbs.connect(self.seeds_db, autocommit=True) as conn:
            conn.execute(f"TRUNCATE {SEED_TABLES}")

    def scan_server_log(self) -> None:
        """What the product's servers complained about during the phase just run."""
        for proc in (self.product.web, self.product.worker):
            if proc is None:
                continue
            text = proc.log_text()
            self.server_errors["gunicorn worker timeouts (request killed at 30 s)"] += text.count("WORKER TIMEOUT")
            lines = text.splitlines()
            for before, line in zip(lines, lines[1:], strict=False):
                # A traceback's last line: the exception, right after an indented frame line.
                if before.startswith("  ") and line and not line[0].isspace() and ": " in line[:120]:
                    if re.match(r"^[\w.]+(Error|Exception|Exit|Timeout|Interrupt|Conflict)\b", line):
                        self.server_errors[f"`{line[:160]}` in {proc.name.split('-')[0]}"] += 1

    def drain_broker(self) -> int:
        """Drop what the phase left in the broker (its own Redis database), so that no follow-up work of one
        phase runs against the next phase's database. Answers how many messages were left."""
        import redis

        client = redis.Redis.from_url(self.args.redis)
        try:
            left = client.llen("celery") + client.hlen("unacked")
            client.delete("celery", "unacked", "unacked_index", "unacked_mutex")
            return left
        finally:
            client.close()

    # --- API set-up (not timed) ------------------------------------------------------------------------------

    def parallel(self, label: str, items: list, fn, threads: int = 8) -> list:
        """Untimed set-up calls, `threads` at a time; refuses to go on if any failed."""
        failures = []
        result = closed_loop(items, clients=threads, make_worker=fn, seconds=3600, label=label)
        failures = result.failed()
        if failures:
            raise RuntimeError(f"{label}: {len(failures)} calls failed, e.g. {failures[0].status}")
        return result.samples

    def hire(self, model_ids: list[str], capability: str) -> None:
        def make():
            c = self.client()

            def work(model_id):
                status, body = c.post("/api/workers/", {"model_id": model_id, "capabilities": [capability]})
                return model_id, status == 201, f"{status} {body}"

            return work

        self.parallel(f"hire {len(model_ids)} workers", model_ids, make, threads=4)

    def register(self, tasks: list[tuple[str, str]], capability: str) -> None:
        rng = random.Random(len(tasks))
        items = [(task_id, model_id, 1 + rng.randrange(10)) for task_id, model_id in tasks]

        def make():
            c = self.client()

            def work(item):
                task_id, model_id, priority = item
                body = {"task_id": task_id, "capability": capability, "priority": priority, "model_id": model_id}
                status, answer = c.post("/api/tasks/", body)
                return task_id, status == 201, f"{status} {answer}"

            return work

        self.parallel(f"register {len(items)} tasks (API)", items, make)

    # --- the end ---------------------------------------------------------------------------------------------

    def finish(self, command: str, error: str | None) -> str:
        a = self.args
        info = machine()
        passed, missed = self.table.verdicts()
        minutes = (time.monotonic() - self.started) / 60
        errors = {k: v for k, v in self.server_errors.items() if v}
        if errors:
            self.notes.insert(
                0, "The product's server logs: " + "; ".join(f"{v} × {k}" for k, v in errors.items()) + "."
            )
        print("\n" + self.table.text())
        print(
            f"\nSummary: {passed} targets met, {missed} missed"
            + (
                " (* measured below the target's size)"
                if any(r.below_size for r in self.table.rows if r.met is not None)
                else ""
            )
            + f"; {minutes:.1f} minutes."
        )
        if error:
            print(f"The run stopped early: {error}")
        doc = [
            "# Performance",
            "",
            "Written by `make bench` (`bench/run.py`; what each figure measures is in `bench/README.md`). Every",
            "baseline was measured in the same run, on the same machine, against the same workload. Targets are",
            "issue 8's; a MISS does not fail the command.",
            "",
            f"- **Date**: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC ({minutes:.1f} minutes)",
            f"- **Command**: `{command}`",
            f"- **Machine**: {info['cores']} cores ({info['cpu']}), {info['ram_gib']} GiB RAM, {info['os']}, "
            f"Python {info['python']}, PostgreSQL {self.pg_version}",
            f"- **Ours**: gunicorn, {a.gunicorn_workers} sync workers, `AURA_ENV=production` (DEBUG off), a Celery "
            f"worker ({a.celery_concurrency} processes) on Redis; the throttle counts in Redis at a rate it "
            "never reaches",
            f"- **Seeds' design**: the auditor, hr and accountant FastAPI services of the seed documents, each under "
            f"uvicorn with {a.uvicorn_workers} workers, chained by a small Manager (`bench/seeds_baseline/`), writing "
            "the seed tables in their own database",
            "- **Raw psycopg**: the same rows as the seeds' services write (a report; for a violation an incident, "
            "HR's actions, a score and the penalties), from one process over psycopg; for scoring, the admin and the "
            "purge, the SQL the job needs at least (see `bench/README.md`)",
            "",
        ]
        if error:
            doc += [f"**The run stopped early**: {error}", ""]
        doc += [self.table.markdown(), ""]
        if any(r.below_size for r in self.table.rows if r.met is not None):
            doc += ["\\* measured below the size the target is set for (a `--quick` or smaller run).", ""]
        doc += ["## Notes", ""] + [f"- {n}" for n in self.notes] + [""]
        text = "\n".join(doc)
        if a.output != "-":
            Path(a.output).write_text(text)
            print(f"Wrote {a.output}")
        return text


def main(argv=None) -> int:
    args = parse_args(argv)
    given = argv if argv is not None else sys.argv[1:]
    if os.environ.get("MAKELEVEL"):
        command = "make bench" + (f" BENCH_ARGS={shlex.quote(shlex.join(given))}" if given else "")
    else:
        command = shlex.join([os.path.relpath(sys.executable, ROOT), "bench/run.py", *given])
    bench = Bench(args)

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    error = None
    try:
        bench.setup()
        if "ingestion" in args.only:
            bench.ingestion()
        if "scoring" in args.only:
            bench.scoring()
        if args.only & {"admin", "purge"}:
            bench.admin_and_purge()
    except KeyboardInterrupt:
        error = "interrupted"
    except Exception as exc:
        import traceback

        traceback.print_exc()
        error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    finally:
        print("\nStopping the servers and dropping the benchmark's databases …", flush=True)
        bench.teardown()
        if not args.keep_logs and not error:
            for path in sorted(bench.log_dir.rglob("*"), reverse=True):
                path.unlink() if path.is_file() else path.rmdir()
            bench.log_dir.rmdir()
        elif error:
            print(f"Server logs kept in {bench.log_dir}")
    bench.finish(command, error)
    return 1 if error else 0


if __name__ == "__main__":
    sys.exit(main())
