# services/auditor/detector.py, as in batch-11-hr-auditor.txt.
def detect_violations(log_entry: dict):
    violations = []

    if log_entry.get("hallucinated"):
        violations.append(("hallucination", 3))

    if log_entry.get("duration_ms", 0) > 60000:
        violations.append(("timeout", 2))

    if log_entry.get("scope_drift"):
        violations.append(("scope_drift", 2))

    return violations
