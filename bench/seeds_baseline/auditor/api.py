# ruff: noqa: I001 (the seed's own import order)
# services/auditor/api.py, as in batch-11-hr-auditor.txt; the lines marked "bench" are added: the seed
# stores its evidence (a report row, and an incident for a violation) in the seed tables.
import uuid  # bench

from fastapi import FastAPI
from detector import detect_violations
from correlator import correlate

from db import write  # bench
from rows import auditor_rows  # bench

app = FastAPI()

@app.post("/audit")
def audit(log_payload: dict):
    violations = detect_violations(log_payload)
    if not violations:
        write(auditor_rows(log_payload, violations, None, None))  # bench
        return {"status": "clean"}

    report = correlate(
        log_payload["task_id"],
        violations,
        log_payload["logs"]
    )
    incident_id = str(uuid.uuid4())  # bench
    write(auditor_rows(log_payload, violations, report, incident_id))  # bench

    return {"status": "violation", "report": report, "incident_id": incident_id}
