import json

from drf_spectacular.utils import extend_schema_field
from jsonschema.exceptions import SchemaError
from jsonschema.validators import validator_for
from rest_framework import serializers

from workforce.api.fields import StoredJSONField
from workforce.api.schema import STORABLE_TEXT
from workforce.models import Assignment, Event, Task, Worker

TASK_TEXT_MAX = 100_000  # characters of the instructions, and of each source
TASK_SOURCES_MAX = 50
OUTPUT_SCHEMA_MAX = 100_000  # characters of the schema, serialized


class WorkerSerializer(serializers.ModelSerializer):
    confidence = serializers.SerializerMethodField()

    class Meta:
        model = Worker
        fields = [
            "model_id",
            "name",
            "provider",
            "capabilities",
            "tier",
            "status",
            "priority",
            "budget",
            "reputation",
            "confidence",
            "cooldown_until",
            "suspended_until",
            "unhealthy_until",
            "hired_at",
            "updated_at",
        ]

    def get_confidence(self, obj: Worker) -> dict:
        # The threshold is a governance setting; the view that knows it passes it in the context.
        runs = self.context.get("provisional_runs")
        return {"scored_runs": obj.scored_runs, "provisional": None if runs is None else obj.is_provisional(runs)}


class WorkerHireSerializer(serializers.Serializer):
    model_id = serializers.CharField(max_length=200)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    provider = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    capabilities = serializers.ListField(child=serializers.CharField(max_length=100), required=False, default=list)
    tier = serializers.ChoiceField(choices=Worker.Tier.choices, required=False, default=Worker.Tier.JUNIOR)


class AssignmentSerializer(serializers.ModelSerializer):
    model_id = serializers.CharField(source="worker.model_id")

    class Meta:
        model = Assignment
        fields = ["model_id", "started_at", "ended_at", "reported_at", "outcome", "reason"]


class TaskSerializer(serializers.ModelSerializer):
    current_worker = serializers.CharField(source="current_worker.model_id", allow_null=True, default=None)

    class Meta:
        model = Task
        fields = [
            "task_id",
            "capability",
            "priority",
            "status",
            "current_worker",
            "attempts",
            "needs_director",
            "created_at",
            "updated_at",
        ]


class TaskDetailSerializer(TaskSerializer):
    assignments = serializers.SerializerMethodField()

    class Meta(TaskSerializer.Meta):
        fields = [*TaskSerializer.Meta.fields, "assignments"]

    def get_assignments(self, obj: Task) -> list[dict]:
        rows = obj.assignments.select_related("worker").order_by("started_at", "id")
        return AssignmentSerializer(rows, many=True).data


# What the OpenAPI schema promises for a task's output schema: the common core of JSON Schema, every instance of
# which is a valid JSON Schema. The API accepts any valid JSON Schema (checked with jsonschema); the schema below
# documents a subset, so that no request the OpenAPI schema calls valid is refused (tests/api/test_schema_fuzz.py).
_JSON_TYPES = ["object", "array", "string", "number", "integer", "boolean", "null"]
_LEAF_SCHEMA = {
    "type": "object",
    "properties": {"type": {"enum": _JSON_TYPES}},
    "additionalProperties": False,
}
_OUTPUT_SCHEMA_DOC = {
    "type": "object",
    "properties": {
        "type": {"enum": _JSON_TYPES},
        "required": {"type": "array", "items": {"type": "string", "pattern": STORABLE_TEXT}},
        "properties": {
            "type": "object",
            "propertyNames": {"pattern": STORABLE_TEXT},
            "additionalProperties": _LEAF_SCHEMA,
        },
        "items": _LEAF_SCHEMA,
        "additionalProperties": {"type": "boolean"},
    },
    "additionalProperties": False,
}


@extend_schema_field(_OUTPUT_SCHEMA_DOC)
class OutputSchemaField(StoredJSONField):
    pass


class TaskRegisterSerializer(serializers.Serializer):
    task_id = serializers.CharField(max_length=300)
    capability = serializers.CharField(max_length=100)
    priority = serializers.IntegerField(min_value=1, max_value=10, required=False, default=5)
    model_id = serializers.CharField(max_length=200, required=False, allow_null=True, default=None)
    # What the Auditor's detectors read; all optional (governance.domain.detectors).
    instructions = serializers.CharField(
        max_length=TASK_TEXT_MAX,
        required=False,
        allow_null=True,
        allow_blank=True,
        trim_whitespace=False,
        default=None,
        help_text="The task's instructions to the worker: what an on-task output is about.",
    )
    sources = serializers.ListField(
        child=serializers.CharField(max_length=TASK_TEXT_MAX, allow_blank=True, trim_whitespace=False),
        required=False,
        allow_null=True,
        default=None,
        max_length=TASK_SOURCES_MAX,
        help_text="Reference texts the worker was given: the claims of its output should rest on them.",
    )
    output_schema = OutputSchemaField(
        required=False,
        allow_null=True,
        default=None,
        help_text="A JSON Schema (an object) that the worker's output must follow. Any valid JSON Schema is accepted; "
        "the common core is described here.",
    )

    def validate_sources(self, value):
        if value is not None and len(json.dumps(value)) > TASK_TEXT_MAX * 2:
            raise serializers.ValidationError(f"The sources may hold {TASK_TEXT_MAX * 2} characters in all.")
        return value

    def validate_output_schema(self, value):
        if value is None:
            return value
        if not isinstance(value, dict):
            raise serializers.ValidationError("A JSON Schema here is an object.")
        if len(json.dumps(value)) > OUTPUT_SCHEMA_MAX:
            raise serializers.ValidationError(f"The schema may hold {OUTPUT_SCHEMA_MAX} characters serialized.")
        try:
            # An unknown draft would be read as the latest one, with a warning: it is refused instead.
            known = validator_for(value, default=None) if "$schema" in value else validator_for(value)
        except Exception:  # a "$schema" that is no URI at all (a number, a list)
            known = None
        if known is None:
            raise serializers.ValidationError("Not a valid JSON Schema: its $schema names no draft jsonschema knows.")
        try:
            known.check_schema(value)
        except SchemaError as exc:
            where = "/".join(str(p) for p in exc.absolute_path)
            raise serializers.ValidationError(
                f"Not a valid JSON Schema: {exc.message}" + (f" (at /{where})" if where else "")
            ) from None
        return value


class TaskAssignSerializer(serializers.Serializer):
    model_id = serializers.CharField(max_length=200, required=False, allow_null=True, default=None)


class RoutingQuerySerializer(serializers.Serializer):
    capability = serializers.CharField(max_length=100)
    priority = serializers.IntegerField(min_value=1, max_value=10, required=False, default=5)
    exclude = serializers.CharField(required=False, default="", help_text="Comma-separated model ids to leave out.")


class RoutingEntrySerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    model_id = serializers.CharField()
    tier = serializers.CharField()
    status = serializers.CharField()
    priority = serializers.IntegerField()
    reputation = serializers.IntegerField()
    open_assignments = serializers.IntegerField()


class EventSerializer(serializers.ModelSerializer):
    cursor = serializers.IntegerField(source="id")

    class Meta:
        model = Event
        fields = ["cursor", "kind", "model_id", "task_id", "payload", "created_at"]


class EventPageSerializer(serializers.Serializer):
    events = EventSerializer(many=True)
    next_cursor = serializers.IntegerField()
    has_more = serializers.BooleanField()
