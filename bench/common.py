"""What the benchmark's parts share: the issue's targets, the seeds' tables, small helpers."""

from loadgen import percentile

SEED_TABLES = "audit_reports, incidents, disciplinary_actions, model_scores, model_penalties"

# The targets.
SINGLE_VS_SEEDS, SINGLE_VS_RAW, SINGLE_P99_MS = 1.5, 0.25, 100
BATCH_RATE, BATCH_VS_RAW, BATCH_CONSEQUENCE_S = 1500, 0.8, 5
SCORING_SECONDS, SCORING_MB = 10, 500
ADMIN_MS = 300
PURGE_RATE, PURGE_DELAY_MS = 50_000, 1000


def ms(seconds):
    return None if seconds is None else seconds * 1000


def p50_p99(latencies: list[float], scale=ms) -> tuple | None:
    if not latencies:
        return None
    lat = sorted(latencies)
    return (scale(percentile(lat, 50)), scale(percentile(lat, 99)))


def clean_payload(task_id: str, model_id: str, report_id: str) -> dict:
    return {
        "task_id": task_id,
        "model_id": model_id,
        "report_id": report_id,
        "logs": [f"step {k}" for k in range(8)],
        "hallucinated": False,
        "scope_drift": False,
        "duration_ms": 1200,
        "test_pass_rate": 0.9,
        "manager_satisfaction": 0.8,
        "confidence": 0.7,
    }
