import json

from rest_framework import serializers

from governance.domain.detection import SEVERITY_MAX, SEVERITY_MIN
from governance.domain.ladder import DEFAULT_POLICIES
from governance.domain.scoring import DEFAULT_PENALTY_POINTS, DEFAULT_WEIGHTS
from governance.models import AuditRun, DisciplinaryAction, Incident, Penalty, ScoreRecord
from workforce.api.fields import StoredJSONField
from workforce.api.schema import STORABLE_TEXT
from workforce.api.serializers import WorkerSerializer

MAX_BATCH = 1000
REPORT_ID_MAX = 200  # AuditRecord.report_id
OUTPUT_MAX = 100_000  # characters of a report's output, serialized as JSON


class RateField(serializers.FloatField):
    """A number from 0 to 1. DRF's FloatField passes JSON `true` to float() and reads it as 1.0."""

    def __init__(self, **kwargs):
        super().__init__(min_value=0, max_value=1, required=False, allow_null=True, default=None, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


# A log entry as documented: a string, number or boolean, or an object of those. Deeper entries (up to the JSON
# depth limit) are accepted as well, their strings under the same rule.
_LOG_SCALAR = {"anyOf": [{"type": "string", "pattern": STORABLE_TEXT}, {"type": "number"}, {"type": "boolean"}]}
LOG_ENTRY_SCHEMA = {
    "anyOf": [
        *_LOG_SCALAR["anyOf"],
        {"type": "object", "propertyNames": {"pattern": STORABLE_TEXT}, "additionalProperties": _LOG_SCALAR},
    ]
}


class AuditReportSerializer(serializers.Serializer):
    """The seed's /audit payload, plus our optional fields."""

    openapi_request_schema = {"properties": {"logs": {"items": LOG_ENTRY_SCHEMA}}}

    task_id = serializers.CharField(max_length=300)
    logs = serializers.ListField(child=StoredJSONField(), required=False, default=list, max_length=10000)
    hallucinated = serializers.BooleanField(required=False, default=False)
    duration_ms = serializers.IntegerField(min_value=0, max_value=2_147_483_647, required=False, default=0)
    scope_drift = serializers.BooleanField(required=False, default=False)
    model_id = serializers.CharField(max_length=200, required=False, allow_null=True, default=None)
    format_violation = serializers.BooleanField(required=False, default=False)
    retries = serializers.IntegerField(min_value=0, max_value=1000, required=False, allow_null=True, default=None)
    test_pass_rate = RateField()
    manager_satisfaction = RateField()
    confidence = RateField()
    error_kind = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    report_id = serializers.CharField(max_length=REPORT_ID_MAX, required=False, allow_null=True, default=None)
    # No default: a report without an output (every seed payload) is stored, fingerprinted and batched as before.
    output = StoredJSONField(
        required=False,
        allow_null=True,
        help_text=f"The worker's output, text or any JSON value, at most {OUTPUT_MAX} characters serialized. The "
        "detectors read it: format.json_schema against the task's output_schema, the text detectors against its "
        "instructions and sources.",
    )

    def validate_output(self, value):
        if value is not None and len(json.dumps(value, ensure_ascii=False)) > OUTPUT_MAX:
            raise serializers.ValidationError(f"Ensure the output has no more than {OUTPUT_MAX} characters serialized.")
        return value


class FindingAnswerSerializer(serializers.Serializer):
    detector = serializers.CharField()
    mode = serializers.ChoiceField(choices=["enforce", "observe"])
    violation_type = serializers.CharField()
    score = serializers.FloatField()


class AuditResultSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["clean", "violation"])
    report = serializers.DictField(required=False, help_text="{task_id, violations, evidence}")
    incident_id = serializers.UUIDField(required=False)
    actions = serializers.ListField(child=serializers.CharField(), required=False)
    held_for_review = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Sanctions the spike guard held for the Director."
    )
    same_step = serializers.BooleanField(
        required=False, help_text="The task was in flight at the last sanction: recorded, with no new action."
    )
    reassigned_to = serializers.CharField(required=False, allow_null=True)
    worker_status = serializers.CharField(required=False)
    reputation = serializers.IntegerField(required=False)
    policy_version = serializers.IntegerField(required=False)
    findings = FindingAnswerSerializer(
        many=True,
        required=False,
        help_text="What the detectors found, when they found anything: enforced findings are the violations, "
        "observed ones sanction nobody.",
    )


class DetectorSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="Stable; stored on every finding.")
    version = serializers.CharField(help_text="The rule's version; stored on every finding.")
    mode = serializers.ChoiceField(choices=["enforce", "observe", "off"], help_text="The mode in force.")
    default_mode = serializers.ChoiceField(choices=["enforce", "observe", "off"])
    threshold = serializers.FloatField(allow_null=True, help_text="The threshold in force; null if it has none.")
    default_threshold = serializers.FloatField(allow_null=True)
    threshold_setting = serializers.CharField(
        allow_null=True, help_text="The settings field its threshold is set in (detector_thresholds or its own)."
    )
    violation_types = serializers.ListField(child=serializers.CharField())
    reads = serializers.ListField(child=serializers.CharField(), help_text="The inputs it reads.")
    description = serializers.CharField()


class AuditBatchSerializer(serializers.Serializer):
    openapi_request_schema = {"properties": {"reports": {"minItems": 1, "maxItems": MAX_BATCH}}}
    reports = AuditReportSerializer(many=True, allow_empty=False, max_length=MAX_BATCH)


class AuditRunAcceptedSerializer(serializers.ModelSerializer):
    """The 202 answer to a batch: where to follow the run."""

    class Meta:
        model = AuditRun
        fields = ["id", "status", "total"]


class AuditRunSerializer(serializers.ModelSerializer):
    results = serializers.SerializerMethodField()

    class Meta:
        model = AuditRun
        fields = ["id", "status", "total", "processed", "created_at", "started_at", "finished_at", "error", "results"]

    def get_results(self, obj: AuditRun) -> list[dict]:
        return [
            {"position": item.position, "status": item.status, "result": item.result}
            for item in obj.items.order_by("position")
        ]


class ViolationPairField(serializers.ListField):
    """A `[type, severity]` pair, the severity on the domain's scale."""

    child = StoredJSONField()

    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        if len(data) == 2 and isinstance(data[1], float) and data[1].is_integer():
            data[1] = int(data[1])  # JSON's 3.0 is the integer 3, as DRF's IntegerField reads it
        if len(data) != 2 or not isinstance(data[0], str) or isinstance(data[1], bool) or not isinstance(data[1], int):
            raise serializers.ValidationError("each violation is a [type, severity] pair")
        if not SEVERITY_MIN <= data[1] <= SEVERITY_MAX:
            bounds = f"must be an integer from {SEVERITY_MIN} to {SEVERITY_MAX}"
            raise serializers.ValidationError({"severity": [bounds]})
        return (data[0], data[1])


class EnforceSerializer(serializers.Serializer):
    openapi_request_schema = {
        "properties": {
            "violations": {
                "items": {
                    "type": "array",
                    "description": "[type, severity]; the types are HR's policies' (the defaults listed).",
                    "prefixItems": [
                        {"type": "string", "enum": sorted(DEFAULT_POLICIES)},
                        {"type": "integer", "minimum": SEVERITY_MIN, "maximum": SEVERITY_MAX},
                    ],
                    "minItems": 2,
                    "maxItems": 2,
                }
            },
        }
    }
    model_id = serializers.CharField(max_length=200)
    violations = serializers.ListField(child=ViolationPairField(), max_length=100)
    history = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, allow_null=True, default=None, max_length=10000
    )


class EnforceResultSerializer(serializers.Serializer):
    actions = serializers.ListField(child=serializers.CharField())
    status = serializers.CharField()
    held_for_review = serializers.ListField(child=serializers.CharField(), required=False)


class ScoreSerializer(serializers.Serializer):
    openapi_request_schema = {
        "properties": {
            "metrics": {
                "type": "object",
                "description": "All six of the Accountant's metrics, each from 0 to 100.",
                "properties": {name: {"type": "number", "minimum": 0, "maximum": 100} for name in DEFAULT_WEIGHTS},
                "required": list(DEFAULT_WEIGHTS),
                "additionalProperties": False,
            },
            "penalties": {"items": {"enum": sorted(DEFAULT_PENALTY_POINTS), "description": "The default kinds."}},
        },
        # previous_score is needed when no model_id is given (with one, the stored reputation is used).
        "anyOf": [
            {"properties": {"model_id": {"type": "string"}}, "required": ["model_id"]},
            {"properties": {"previous_score": {"type": "integer"}}, "required": ["previous_score"]},
        ],
    }
    metrics = serializers.DictField(child=StoredJSONField())
    penalties = serializers.ListField(child=serializers.CharField(max_length=50), required=False, default=list)
    previous_score = serializers.IntegerField(min_value=0, max_value=100, required=False, allow_null=True, default=None)
    model_id = serializers.CharField(max_length=200, required=False, allow_null=True, default=None)

    def validate(self, attrs):
        if attrs["model_id"] is None and attrs["previous_score"] is None:
            raise serializers.ValidationError({"previous_score": ["required when no model_id is given"]})
        return attrs


class ScoreResultSerializer(serializers.Serializer):
    score = serializers.IntegerField()
    reputation = serializers.IntegerField()
    action = serializers.CharField()


class IncidentSerializer(serializers.ModelSerializer):
    model_id = serializers.CharField(source="worker.model_id")
    task_id = serializers.CharField(source="task.task_id")

    class Meta:
        model = Incident
        fields = [
            "id",
            "model_id",
            "task_id",
            "severity",
            "status",
            "violations",
            "evidence",
            "settings_version",
            "reported_at",
            "resolved_at",
        ]


class DisciplinaryActionSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    overturned = serializers.SerializerMethodField()

    class Meta:
        model = DisciplinaryAction
        fields = [
            "id",
            "action",
            "reason",
            "actor_kind",
            "actor",
            "incident",
            "policy_version",
            "violation_type",
            "effective_until",
            "overturns",
            "overturned",
            "created_at",
        ]

    def get_actor(self, obj: DisciplinaryAction) -> str:
        return obj.actor.get_username() if obj.actor_id else obj.actor_kind

    def get_overturned(self, obj: DisciplinaryAction) -> bool:
        return hasattr(obj, "overturned_by")


class PenaltySerializer(serializers.ModelSerializer):
    class Meta:
        model = Penalty
        fields = ["id", "reason", "severity", "points", "incident", "settings_version", "created_at"]


class ScoreRecordSerializer(serializers.ModelSerializer):
    class Meta:
        model = ScoreRecord
        fields = [
            "id",
            "score",
            "previous_reputation",
            "reputation",
            "action",
            "applied_action",
            "metrics",
            "penalties",
            "settings_version",
            "created_at",
        ]


class WorkerDetailSerializer(WorkerSerializer):
    active_strikes = serializers.IntegerField()
    active_warnings = serializers.IntegerField()

    class Meta(WorkerSerializer.Meta):
        fields = [*WorkerSerializer.Meta.fields, "active_strikes", "active_warnings"]


class RecordEntrySerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["action", "penalty", "score", "incident"])
    at = serializers.DateTimeField()
    data = serializers.DictField()


class WorkerRecordSerializer(serializers.Serializer):
    model_id = serializers.CharField()
    count = serializers.IntegerField()
    offset = serializers.IntegerField()
    limit = serializers.IntegerField()
    results = RecordEntrySerializer(many=True)
