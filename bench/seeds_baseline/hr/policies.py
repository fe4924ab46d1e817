# services/hr/policies.py, as in batch-11-hr-auditor.txt.
POLICIES = {
    "hallucination": {
        "severity": 3,
        "action": "STRIKE"
    },
    "timeout": {
        "severity": 2,
        "action": "WARNING"
    },
    "scope_drift": {
        "severity": 2,
        "action": "WARNING"
    },
    "repeat_offense": {
        "severity": 4,
        "action": "SUSPEND"
    }
}
