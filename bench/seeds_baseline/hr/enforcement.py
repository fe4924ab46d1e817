# services/hr/enforcement.py, as in batch-11-hr-auditor.txt.
def enforce(model_id, violations, history):
    actions = []

    for v, sev in violations:
        if sev >= 3:
            actions.append("STRIKE")
        if history.count(v) >= 3:
            actions.append("TERMINATE")

    return list(set(actions))
