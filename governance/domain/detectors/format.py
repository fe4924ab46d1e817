"""`format.json_schema`: the worker's output checked against the task's JSON Schema with `jsonschema`. Pure.

An output reported as a string is read as JSON text; if it is not JSON, or its JSON does not follow the
schema, the string itself is tried (a schema may ask for a plain string). Each validation error is evidence:
its JSON path, its message and the schema keyword that failed. An output that is not JSON at all, when the
schema wants something else, is a finding of its own, with the parser's message.
"""

import json

from jsonschema.validators import validator_for

from governance.domain.detectors.base import DetectorConfig, DetectorInput, FindingDraft

FORMAT_JSON_SCHEMA = "format.json_schema"
FORMAT_JSON_SCHEMA_VERSION = "1"
ERRORS_KEPT = 20  # evidence entries per finding; the count says how many there were
MESSAGE_MAX = 300  # a message may quote the whole instance: it is cut


class SchemaUnusable(Exception):
    """The task's schema cannot be applied (an unresolvable $ref): nobody's misconduct, no finding."""


def _cut(text: str) -> str:
    return text if len(text) <= MESSAGE_MAX else text[: MESSAGE_MAX - 1] + "…"


def _errors(validator, instance) -> list[dict]:
    try:
        found = list(validator.iter_errors(instance))
    except Exception as exc:  # referencing's Unresolvable, a bad regex in "pattern": the schema's fault
        raise SchemaUnusable(f"the task's output schema cannot be applied: {exc}") from exc
    found.sort(key=lambda e: (e.json_path, e.message))
    return [{"path": e.json_path, "message": _cut(e.message), "keyword": str(e.validator)} for e in found]


def json_schema(report: DetectorInput, config: DetectorConfig) -> list[FindingDraft]:
    """No schema or no output: nothing to check. Otherwise one finding when the output breaks the schema."""
    schema, output = report.output_schema, report.output
    if schema is None or output is None:
        return []
    validator = validator_for(schema)(schema)
    not_json = None
    instance = output
    if isinstance(output, str):
        try:
            instance = json.loads(output)
        except ValueError as exc:
            not_json = f"the output is not JSON: {exc}"
    errors = _errors(validator, instance) if not_json is None else []
    if (errors or not_json) and isinstance(output, str) and not _errors(validator, output):
        return []  # the schema asks for a string, and this string is one
    if not_json:
        errors = [{"path": "$", "message": _cut(not_json), "keyword": "json"}]
    if not errors:
        return []
    return [
        FindingDraft(
            detector=FORMAT_JSON_SCHEMA,
            version=FORMAT_JSON_SCHEMA_VERSION,
            violation_type="format_violation",
            score=1.0,
            evidence={"not_json": not_json is not None, "error_count": len(errors), "errors": errors[:ERRORS_KEPT]},
        )
    ]
