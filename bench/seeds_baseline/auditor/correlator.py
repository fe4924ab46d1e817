# services/auditor/correlator.py, as in batch-11-hr-auditor.txt.
def correlate(task_id, violations, logs):
    return {
        "task_id": task_id,
        "violations": violations,
        "evidence": logs[-5:]  # last 5 entries
    }
