"""The seeds' design, driven the seeds' way: a small Manager chains the three services over HTTP.

Auditor -> (a violation) HR -> Accountant, as batch 11's "Full Incident Flow" has it. The Manager keeps each
model's violation history and reputation in memory (the seeds' Manager holds its models' state), passes the
history to HR and the previous reputation to the Accountant, and reassigns the task in memory.

`RawWriter` is the raw-insert baseline: the same decisions (the seeds' own functions, in process) and the same
rows, written by one process over psycopg, one transaction per report or per batch.
"""

import sys
import threading
import uuid
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
for _service in ("auditor", "hr", "accountant"):
    sys.path.insert(0, str(HERE / _service))
sys.path.insert(0, str(HERE))

from correlator import correlate  # noqa: E402
from detector import detect_violations  # noqa: E402
from enforcement import enforce  # noqa: E402
from reputation import update_reputation  # noqa: E402
from rows import accountant_rows, auditor_rows, hr_rows  # noqa: E402
from rules import PENALTIES  # noqa: E402
from scorer import calculate_score  # noqa: E402

SERVICES = ("auditor", "hr", "accountant")
NEW_HIRE_REPUTATION = 60


def metrics_of(payload: dict) -> dict:
    """The Accountant's metrics for one attempt, from the report (the seed says: test pass rate, manager
    satisfaction, retries, duration)."""
    return {
        "confidence": payload.get("confidence") or 0.0,
        "accuracy": payload.get("test_pass_rate") or 0.0,
        "productivity": 1.0 / (1 + (payload.get("retries") or 0)),
        "discipline": payload.get("manager_satisfaction") or 0.0,
    }


def determine_action(score):
    # As the accountant's api.py (imported from there it would start a FastAPI app).
    if score >= 80:
        return "PROMOTE"
    if score < 50:
        return "WARNING"
    if score < 30:
        return "TERMINATE"
    return "NONE"


class ModelBook:
    """The Manager's memory of its models: violation history and reputation."""

    def __init__(self):
        self.history: dict[str, list[str]] = defaultdict(list)
        self.reputation: dict[str, int] = defaultdict(lambda: NEW_HIRE_REPUTATION)
        self.disabled: set[str] = set()
        self.lock = threading.Lock()


class SeedsManager:
    """One Manager; `handle` is called from many client threads, each with its own HTTP connections."""

    def __init__(self, urls: dict[str, str], client_factory):
        self.urls = urls
        self.client_factory = client_factory  # url -> a JSON client with .post(path, body) -> (status, body)
        self.book = ModelBook()
        self._local = threading.local()

    def _client(self, service: str):
        clients = getattr(self._local, "clients", None)
        if clients is None:
            clients = self._local.clients = {name: self.client_factory(self.urls[name]) for name in SERVICES}
        return clients[service]

    def _call(self, service: str, path: str, body: dict) -> dict:
        status, answer = self._client(service).post(path, body)
        if status != 200:
            raise RuntimeError(f"{service}{path}: HTTP {status}")
        return answer

    def handle(self, payload: dict) -> dict:
        """Auditor, then HR and the Accountant for a violation; the task is reassigned in memory."""
        verdict = self._call("auditor", "/audit", payload)
        if verdict["status"] != "violation":
            return verdict
        model_id = payload["model_id"]
        violations = verdict["report"]["violations"]
        types = [v for v, _ in violations]
        with self.book.lock:
            history = list(self.book.history[model_id])
            previous = self.book.reputation[model_id]
        hr = self._call("hr", "/enforce", {"model_id": model_id, "violations": violations, "history": history})
        score = self._call(
            "accountant",
            "/score",
            {"model_id": model_id, "metrics": metrics_of(payload), "penalties": types, "previous_score": previous},
        )
        with self.book.lock:
            self.book.history[model_id].extend(types)
            self.book.reputation[model_id] = score["reputation"]
            if "TERMINATE" in hr["actions"]:
                self.book.disabled.add(model_id)
        return verdict | {"actions": hr["actions"], "reputation": score["reputation"]}

    def score(self, model_id: str, metrics: dict) -> dict:
        """A scoring pass: the Accountant scores one model from its aggregated metrics."""
        with self.book.lock:
            previous = self.book.reputation[model_id]
        answer = self._call(
            "accountant",
            "/score",
            {"model_id": model_id, "metrics": metrics, "penalties": [], "previous_score": previous},
        )
        with self.book.lock:
            self.book.reputation[model_id] = answer["reputation"]
        return answer


class RawWriter:
    """The raw-insert baseline: the seeds' decisions in process, their rows over psycopg."""

    def __init__(self):
        self.book = ModelBook()

    def rows_for(self, payload: dict) -> list:
        violations = detect_violations(payload)
        if not violations:
            return auditor_rows(payload, violations, None, None)
        report = correlate(payload["task_id"], violations, payload["logs"])
        model_id = payload["model_id"]
        types = [v for v, _ in violations]
        rows = auditor_rows(payload, violations, report, str(uuid.uuid4()))
        with self.book.lock:
            history = list(self.book.history[model_id])
            previous = self.book.reputation[model_id]
            actions = enforce(model_id, violations, history)
            score = calculate_score(metrics_of(payload), types)
            reputation = update_reputation(previous, score)
            self.book.history[model_id].extend(types)
            self.book.reputation[model_id] = reputation
        rows += hr_rows(model_id, violations, actions)
        rows += accountant_rows(
            model_id, score, reputation, determine_action(reputation), [(p, -PENALTIES.get(p, 0)) for p in types]
        )
        return rows

    def write_one(self, conn, payload: dict) -> None:
        """One report and its consequences, one transaction."""
        rows = self.rows_for(payload)
        with conn.transaction(), conn.cursor() as cur:
            for sql, params in rows:
                cur.execute(sql, params)

    def write_batch(self, conn, payloads: list[dict]) -> None:
        """A batch, one transaction, each table's rows in one executemany (pipelined by psycopg)."""
        grouped: dict[str, list] = {}
        for payload in payloads:
            for sql, params in self.rows_for(payload):
                grouped.setdefault(sql, []).append(params)
        with conn.transaction(), conn.cursor() as cur:
            for sql, params in grouped.items():
                cur.executemany(sql, params)
