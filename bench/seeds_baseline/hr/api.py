# ruff: noqa: I001 (the seed's own import order)
# services/hr/api.py, as in batch-11-hr-auditor.txt; the lines marked "bench" are added: the actions are
# recorded in the seed's disciplinary_actions table.
from fastapi import FastAPI
from enforcement import enforce

from db import write  # bench
from rows import hr_rows  # bench

app = FastAPI()

@app.post("/enforce")
def hr_action(payload: dict):
    actions = enforce(
        payload["model_id"],
        payload["violations"],
        payload.get("history", [])
    )
    if actions:  # bench
        write(hr_rows(payload["model_id"], payload["violations"], actions))  # bench

    return {
        "actions": actions,
        "status": "executed"
    }
