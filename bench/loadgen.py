"""Load generation: a small JSON-over-HTTP client, closed-loop client threads, progress bars, percentiles.

The client is http.client on one kept-alive connection per thread: the cheapest Python client, so the
load generator takes as little as possible of the machine's two cores from the servers it measures (the
same client drives ours, the seeds' services and the seeds' Manager).
"""

import http.client
import json
import math
import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


class JsonClient:
    """One connection to one server. Not thread-safe: one per thread."""

    def __init__(self, base_url: str, *, headers: dict | None = None, timeout: float = 35.0):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port or 80
        self.headers = {"Content-Type": "application/json", "Accept": "application/json", **(headers or {})}
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self.conn

    def request(self, method: str, path: str, body=None, headers: dict | None = None) -> tuple[int, bytes, dict]:
        data = None if body is None else json.dumps(body).encode()
        all_headers = {**self.headers, **(headers or {})}
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, path, data, all_headers)
                response = conn.getresponse()
                raw = response.read()
                if response.will_close:
                    self.close()
                return response.status, raw, dict(response.getheaders())
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A kept-alive connection the server closed meanwhile: retry once on a new one, only if
                # nothing was answered (the request was not processed).
                self.close()
                if attempt == 2:
                    raise
            except Exception:
                self.close()
                raise
        raise AssertionError("unreachable")

    def post(self, path: str, body) -> tuple[int, dict | None]:
        status, raw, _ = self.request("POST", path, body)
        return status, _json(raw)

    def get(self, path: str, headers: dict | None = None) -> tuple[int, dict | None]:
        status, raw, _ = self.request("GET", path, headers=headers)
        return status, _json(raw)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _json(raw: bytes):
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


# --- progress ------------------------------------------------------------------------------------------------


class Progress:
    """A one-line progress bar, redrawn at most five times a second; `done()` ends the line."""

    def __init__(self, label: str, total: int, *, stream=None):
        self.label, self.total = label, max(total, 0)
        self.count = 0
        self.stream = stream or sys.stdout
        self.lock = threading.Lock()
        self.started = time.perf_counter()
        self.drawn_at = 0.0
        self.tty = self.stream.isatty()
        if self.tty:
            self._draw(force=True)

    def advance(self, n: int = 1) -> None:
        with self.lock:
            self.count += n
            self._draw()

    def set(self, count: int) -> None:
        with self.lock:
            self.count = count
            self._draw()

    def _draw(self, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self.drawn_at < 0.2 and self.count < self.total:
            return
        if not force and not self.tty:
            return  # a log file gets the finished line only
        self.drawn_at = now
        width = 28
        filled = int(width * self.count / self.total) if self.total else width
        filled = min(filled, width)
        elapsed = now - self.started
        self.stream.write(
            ("\r" if self.tty else "")
            + f"  {self.label[:46]:<46} [{'#' * filled}{'.' * (width - filled)}]"
            + f" {self.count}/{self.total} {elapsed:6.1f}s"
        )
        self.stream.flush()

    def done(self, note: str = "") -> None:
        with self.lock:
            self._draw(force=True)
            self.stream.write(f"  {note}\n" if note else "\n")
            self.stream.flush()


def step(message: str) -> None:
    print(f"  - {message}", flush=True)


# --- closed-loop load ----------------------------------------------------------------------------------------


@dataclass
class Sample:
    key: str
    started: float
    ended: float
    ok: bool
    status: int | str

    @property
    def latency(self) -> float:
        return self.ended - self.started


@dataclass
class LoadResult:
    samples: list[Sample] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0
    capped: bool = False  # stopped by the time cap before every item was sent

    @property
    def sent(self) -> int:
        return len(self.samples)

    @property
    def seconds(self) -> float:
        return max(self.ended - self.started, 1e-9)

    @property
    def rate(self) -> float:
        return self.sent / self.seconds

    def latencies(self) -> list[float]:
        return sorted(s.latency for s in self.samples)

    def failed(self) -> list[Sample]:
        return [s for s in self.samples if not s.ok]


def closed_loop(
    items: list,
    *,
    clients: int,
    make_worker,
    seconds: float,
    label: str = "",
    bar: "Progress | None" = None,
    quiet: bool = False,
) -> LoadResult:
    """`clients` threads take items off one queue until it is empty or `seconds` have passed.

    `make_worker()` is called once per thread (before the clock starts) and returns
    `work(item) -> (key, ok, status)`; each call is timed. A `bar` given is advanced and left open; `quiet` draws
    none."""
    work_queue: queue.Queue = queue.Queue()
    for item in items:
        work_queue.put(item)
    result = LoadResult()
    own_bar = bar is None and not quiet
    if own_bar:
        bar = Progress(label, len(items))
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1)
    deadline = [0.0]

    def run() -> None:
        work = make_worker()
        barrier.wait()
        local: list[Sample] = []
        while time.perf_counter() < deadline[0]:
            try:
                item = work_queue.get_nowait()
            except queue.Empty:
                break
            t0 = time.perf_counter()
            try:
                key, ok, status = work(item)
            except Exception as exc:  # a timeout or a dropped connection: the report may be lost
                key, ok, status = _key_of(item), False, type(exc).__name__
            local.append(Sample(key, t0, time.perf_counter(), ok, status))
            if bar is not None:
                bar.advance()
        with lock:
            result.samples.extend(local)

    threads = [threading.Thread(target=run, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    result.started = time.perf_counter()
    deadline[0] = result.started + seconds
    barrier.wait()
    for t in threads:
        t.join()
    result.ended = time.perf_counter()
    result.capped = not work_queue.empty()
    if own_bar:
        bar.done("(time cap reached)" if result.capped else "")
    return result


def _key_of(item) -> str:
    if isinstance(item, dict):
        return str(item.get("report_id", ""))
    return str(item)


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of sorted values."""
    if not values:
        return None
    rank = max(1, math.ceil(pct / 100 * len(values)))
    return values[min(rank, len(values)) - 1]
