"""The benchmark's throwaway databases and the server processes it starts (and always stops).

Every process is started in its own session, so stopping it signals its process group (gunicorn's or uvicorn's
workers, Celery's pool) and nothing else. Every database is named aura_bench_<pid>_<purpose> and dropped at the
end, even after a failure or Ctrl-C.
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from loadgen import JsonClient

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Databases:
    """Create, clone and drop the run's databases through the server's maintenance database."""

    def __init__(self, server_url: str, prefix: str):
        self.server_url = server_url.rstrip("/")
        self.prefix = prefix
        self.created: list[str] = []
        self.admin = psycopg.connect(self.url("postgres"), autocommit=True)

    def url(self, name: str) -> str:
        return f"{self.server_url}/{name}"

    def name(self, purpose: str) -> str:
        return f"{self.prefix}_{purpose}".lower()

    def server_version(self) -> str:
        return self.admin.execute("SHOW server_version").fetchone()[0]

    def create(self, purpose: str, *, template: str | None = None) -> str:
        name = self.name(purpose)
        self.drop(name)
        sql = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
        for attempt in range(20):
            try:
                self.admin.execute(sql)
                break
            except psycopg.errors.ObjectInUse:
                # A server just stopped may still hold a connection to the template for a moment.
                self.admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    [template],
                )
                time.sleep(0.25 * (attempt + 1))
        else:
            raise RuntimeError(f"could not clone {template} into {name}")
        self.created.append(name)
        return name

    def drop(self, name: str) -> None:
        self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.created:
            self.created.remove(name)

    def drop_all(self) -> None:
        for name in list(self.created):
            try:
                self.drop(name)
            except Exception as exc:  # keep dropping the others
                print(f"  ! could not drop {name}: {exc}", file=sys.stderr)

    def connect(self, name: str, **kwargs) -> psycopg.Connection:
        return psycopg.connect(self.url(name), **kwargs)


class Process:
    """One server process (and its children), logging to a file."""

    def __init__(self, name: str, cmd: list[str], env: dict, log_dir: Path):
        self.name, self.cmd, self.env = name, cmd, env
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Process":
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.cmd, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        # Children that outlived their parent (a pool process): the group is ours alone.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc = None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


def wait_http(url: str, path: str, *, process: Process, timeout: float = 60, ok=(200,)) -> None:
    client = JsonClient(url, timeout=5)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited:\n{process.tail()}")
        try:
            status, _ = client.get(path)
            if status in ok:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{process.name} did not answer {path} within {timeout:.0f} s:\n{process.tail()}")


def wait_log(process: Process, needle: str, *, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited:\n{process.tail()}")
        if needle in process.log_text():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{process.name} not ready within {timeout:.0f} s:\n{process.tail()}")


class Product:
    """Aura Orchestra as it runs in production: gunicorn (sync workers) and a Celery worker on Redis."""

    def __init__(
        self, *, dbs: Databases, redis_url: str, log_dir: Path, gunicorn_workers: int, celery_concurrency: int
    ):
        self.dbs = dbs
        self.redis_url = redis_url
        self.log_dir = log_dir
        self.gunicorn_workers = gunicorn_workers
        self.celery_concurrency = celery_concurrency
        self.secret_key = secrets.token_urlsafe(64)
        self.data_dir = log_dir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.web: Process | None = None
        self.worker: Process | None = None
        self.url = ""
        self.starts = 0
        self.logs: list[Path] = []

    def env(self, db: str) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AURA_", "DJANGO_", "CELERY_"))}
        env.update(
            AURA_ENV="production",
            DEBUG="false",
            SECRET_KEY=self.secret_key,
            ALLOWED_HOSTS="127.0.0.1,localhost",
            # Production redirects plain HTTP to HTTPS; behind the benchmark there is no TLS proxy.
            SECURE_SSL_REDIRECT="false",
            DATABASE_URL=self.dbs.url(db),
            CELERY_BROKER_URL=self.redis_url,
            REDIS_URL=self.redis_url,
            # The throttle still counts every call in Redis, but never refuses one: the benchmark is one key.
            AURA_THROTTLE_RATE="1000000000/min",
            AURA_DATA_DIR=str(self.data_dir),
            LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )
        return env

    def manage(self, db: str, *args: str) -> str:
        done = subprocess.run(
            [PYTHON, "manage.py", *args], env=self.env(db), cwd=ROOT, capture_output=True, text=True, check=False
        )
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def child(self, db: str, op: str, args: dict | None = None, *, timeout: float | None = None) -> dict:
        """Run a step of bench/child.py against `db`; its JSON result."""
        import json

        done = subprocess.run(
            [PYTHON, str(BENCH / "child.py"), op, json.dumps(args or {})],
            env=self.env(db),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        for line in done.stdout.splitlines():
            if line.startswith("BENCH-RESULT "):
                return json.loads(line.removeprefix("BENCH-RESULT "))
        raise RuntimeError(f"bench/child.py {op} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")

    def start(self, db: str, *, celery: bool = True) -> None:
        self.starts += 1
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = self.env(db)
        tag = f"{self.starts:02d}"
        self.web = Process(
            f"gunicorn-{tag}",
            [
                PYTHON,
                "-m",
                "gunicorn",
                "aura_project.wsgi:application",
                "--workers",
                str(self.gunicorn_workers),
                "--bind",
                f"127.0.0.1:{port}",
                "--timeout",
                "30",
                "--log-level",
                "warning",
            ],
            env,
            self.log_dir,
        ).start()
        if celery:
            self.worker = Process(
                f"celery-{tag}",
                [
                    PYTHON,
                    "-m",
                    "celery",
                    "-A",
                    "aura_project",
                    "worker",
                    "--loglevel",
                    "INFO",
                    "--concurrency",
                    str(self.celery_concurrency),
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "--hostname",
                    f"bench{os.getpid()}-{tag}@%h",
                ],
                env,
                self.log_dir,
            ).start()
        self.logs += [p.log_path for p in (self.web, self.worker) if p]
        wait_http(self.url, "/healthz", process=self.web)
        if celery:
            wait_log(self.worker, " ready.")

    def stop(self) -> None:
        if self.web:
            self.web.stop(signal.SIGTERM)
        if self.worker:
            self.worker.stop(signal.SIGTERM, timeout=10)
        self.web = self.worker = None


class SeedServices:
    """The seeds' three FastAPI services, each under uvicorn with its own workers, on the seeds' database."""

    def __init__(self, *, seeds_db_url: str, log_dir: Path, workers: int):
        self.seeds_db_url = seeds_db_url
        self.log_dir = log_dir
        self.workers = workers
        self.processes: dict[str, Process] = {}
        self.urls: dict[str, str] = {}

    def start(self) -> None:
        base = BENCH / "seeds_baseline"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AURA_", "DJANGO_"))}
        env.update(SEEDS_DATABASE_URL=self.seeds_db_url, PYTHONPATH=str(base), PYTHONUNBUFFERED="1")
        for service in ("auditor", "hr", "accountant"):
            port = free_port()
            self.urls[service] = f"http://127.0.0.1:{port}"
            self.processes[service] = Process(
                f"seeds-{service}",
                [
                    PYTHON,
                    str(base / "serve.py"),  # uvicorn's CLI, with TCP_NODELAY (see serve.py)
                    "api:app",
                    "--app-dir",
                    str(base / service),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--workers",
                    str(self.workers),
                    "--log-level",
                    "warning",
                    "--no-access-log",
                ],
                env,
                self.log_dir,
            ).start()
        for service, process in self.processes.items():
            wait_http(self.urls[service], "/openapi.json", process=process)

    def stop(self) -> None:
        for process in self.processes.values():
            process.stop(signal.SIGTERM)
        self.processes = {}
