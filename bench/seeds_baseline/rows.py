"""Added for the benchmark: the rows each seed service writes, as (sql, params). The raw-insert baseline
writes the very same rows, so the two baselines differ only in how the work travels (HTTP between three
services, or one process)."""

from psycopg.types.json import Jsonb


def auditor_rows(payload: dict, violations: list, report: dict | None, incident_id: str | None) -> list:
    rows = [
        (
            "INSERT INTO audit_reports (report_id, model_id, task_id, status, violations, evidence, payload)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                payload.get("report_id"),
                payload.get("model_id"),
                payload["task_id"],
                "violation" if violations else "clean",
                Jsonb([list(v) for v in violations]),
                Jsonb(report["evidence"] if report else []),
                Jsonb(payload),
            ),
        )
    ]
    if violations:
        rows.append(
            (
                "INSERT INTO incidents (id, model_id, task_id, severity, status) VALUES (%s, %s, %s, %s, %s)",
                (incident_id, payload.get("model_id"), payload["task_id"], max(s for _, s in violations), "OPEN"),
            )
        )
    return rows


def hr_rows(model_id: str, violations: list, actions: list) -> list:
    reason = ", ".join(v for v, _ in violations)
    return [
        ("INSERT INTO disciplinary_actions (model_id, action, reason) VALUES (%s, %s, %s)", (model_id, a, reason))
        for a in actions
    ]


def accountant_rows(model_id, score: int, reputation: int, action: str, penalties: list) -> list:
    rows = [
        (
            "INSERT INTO model_scores (model_id, score, reputation, action) VALUES (%s, %s, %s, %s)",
            (model_id, score, reputation, action),
        )
    ]
    rows += [
        ("INSERT INTO model_penalties (model_id, reason, severity) VALUES (%s, %s, %s)", (model_id, reason, severity))
        for reason, severity in penalties
    ]
    return rows
