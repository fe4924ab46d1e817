# services/accountant/rules.py, as in batch-10-accountant.txt.
WEIGHTS = {
    "confidence": 0.25,
    "consistency": 0.20,
    "accuracy": 0.20,
    "productivity": 0.15,
    "initiative": 0.10,
    "discipline": 0.10
}

PENALTIES = {
    "hallucination": -30,
    "timeout": -20,
    "scope_drift": -15,
    "format_violation": -10
}

PROMOTION_THRESHOLD = 80
WARNING_THRESHOLD = 50
TERMINATION_THRESHOLD = 30
