-- The seeds' tables, as batch-10-accountant.txt and batch-11-hr-auditor.txt declare them (verbatim), plus
-- audit_reports: the seeds have the Auditor "create report + evidence" and keep it, but give it no table.
CREATE TABLE model_scores (
    model_id TEXT,
    score INT,
    reputation INT,
    action TEXT,
    timestamp TIMESTAMP DEFAULT NOW()
);

CREATE TABLE model_penalties (
    model_id TEXT,
    reason TEXT,
    severity INT,
    timestamp TIMESTAMP DEFAULT NOW()
);

CREATE TABLE incidents (
    id UUID PRIMARY KEY,
    model_id TEXT,
    task_id TEXT,
    severity INT,
    status TEXT,
    reported_at TIMESTAMP DEFAULT NOW()
);

CREATE TABLE disciplinary_actions (
    model_id TEXT,
    action TEXT,
    reason TEXT,
    timestamp TIMESTAMP DEFAULT NOW()
);

-- Added for the benchmark: the report as received (with its logs) and the Auditor's verdict and evidence.
CREATE TABLE audit_reports (
    report_id TEXT PRIMARY KEY,
    model_id TEXT,
    task_id TEXT,
    status TEXT,
    violations JSONB,
    evidence JSONB,
    payload JSONB,
    received_at TIMESTAMP DEFAULT NOW()
);
-- Retention: "1 year", "manual purge only (Director action)" -- the purge benchmark deletes by timestamp.
CREATE INDEX incidents_reported_at ON incidents (reported_at);
