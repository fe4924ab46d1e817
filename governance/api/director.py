"""The Director's interventions, for scripts: POST /api/director/... with a Director's key or login.

Each command is its own view with its input and output serializers, and calls one service of
governance.services.director under `director_command` (a reason is required, the Director is recorded as actor,
the Manager's inbox is told, and an Idempotency-Key makes a retry harmless). Manager, Auditor and Viewer keys get
403. GET /api/director/mode/ is readable by every role: the Manager's orchestrator needs to know of a halt.
"""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.api.views import COMMAND_KEY_MAX, _idempotency_key, _idempotency_parameter
from governance.domain.detectors import MODES
from governance.models import Hold
from governance.services import director as d
from governance.services.detectors import detector_mode_set
from workforce.api.permissions import IsDirector, RecordsReader

REASON_MAX = 500


# --- Input ---------------------------------------------------------------------------------------------------


class DirectorReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=REASON_MAX, help_text="Why the Director intervenes; recorded.")


class SuspendSerializer(DirectorReasonSerializer):
    minutes = serializers.IntegerField(
        min_value=1,
        max_value=d.SUSPENSION_MINUTES_MAX,
        required=False,
        allow_null=True,
        default=None,
        help_text="The suspension's length. Give this or `until`; neither: the policy's length.",
    )
    until = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="When the suspension ends (in the future)."
    )

    def validate(self, attrs):
        if attrs["minutes"] is not None and attrs["until"] is not None:
            raise serializers.ValidationError({"until": ["give minutes or until, not both"]})
        return attrs


class DirectorTaskReassignSerializer(DirectorReasonSerializer):
    model_id = serializers.CharField(
        max_length=200,
        required=False,
        allow_null=True,
        default=None,
        help_text="The worker to give the task to; none: the best eligible worker other than its current one.",
    )


class DirectorTaskAssignSerializer(DirectorReasonSerializer):
    model_id = serializers.CharField(max_length=200, help_text="The worker to give the waiting task to.")


class HoldPlaceSerializer(DirectorReasonSerializer):
    kind = serializers.ChoiceField(choices=Hold.Kind.choices, required=False, default=Hold.Kind.DIRECTOR)
    model_id = serializers.CharField(
        max_length=200, required=False, allow_null=True, default=None, help_text="Hold every record of this worker."
    )
    incident_id = serializers.UUIDField(
        required=False, allow_null=True, default=None, help_text="Hold this incident with its report and actions."
    )

    def validate(self, attrs):
        if attrs["model_id"] is None and attrs["incident_id"] is None:
            raise serializers.ValidationError({"model_id": ["name a worker (model_id) or an incident (incident_id)"]})
        return attrs


class DetectorModeSerializer(DirectorReasonSerializer):
    mode = serializers.ChoiceField(
        choices=MODES,
        help_text="enforce: findings are violations and go to HR; observe: recorded, sanction nobody; off: not run.",
    )


# --- Output --------------------------------------------------------------------------------------------------


class WorkerStateSerializer(serializers.Serializer):
    model_id = serializers.CharField()
    status = serializers.CharField()
    tier = serializers.CharField()
    suspended_until = serializers.DateTimeField(allow_null=True)
    cooldown_until = serializers.DateTimeField(allow_null=True)


class ActionRecordSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    action = serializers.CharField()
    reason = serializers.CharField()
    actor = serializers.CharField(help_text="Who acted: user:<name> or key:<name>.")
    effective_until = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class WorkerActionAnswerSerializer(serializers.Serializer):
    action = serializers.CharField()
    worker = WorkerStateSerializer()
    records = ActionRecordSerializer(many=True, help_text="The actions recorded (an implied one included).")


class OverturnAnswerSerializer(serializers.Serializer):
    overturned = serializers.IntegerField(help_text="The id of the action overturned.")
    overturn = ActionRecordSerializer()
    worker = WorkerStateSerializer()


class ReviewAnswerSerializer(serializers.Serializer):
    pending_id = serializers.IntegerField()
    action = serializers.CharField()
    decision = serializers.CharField(help_text="CONFIRMED or DISMISSED.")
    applied = ActionRecordSerializer(allow_null=True)
    worker = WorkerStateSerializer()


class HoldAnswerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    model_id = serializers.CharField(allow_null=True)
    incident_id = serializers.UUIDField(allow_null=True)
    reason = serializers.CharField(help_text="Why the hold was placed.")
    created_by = serializers.CharField(help_text="Who placed it: user:<username> or key:<key name>.")
    created_at = serializers.DateTimeField()
    lifted_by = serializers.CharField(allow_null=True, help_text="Who lifted it; null while the hold is open.")
    lifted_at = serializers.DateTimeField(allow_null=True)
    lift_reason = serializers.CharField(allow_null=True, help_text="Why it was lifted; null while the hold is open.")


class DirectorTaskAnswerSerializer(serializers.Serializer):
    task_id = serializers.CharField()
    status = serializers.CharField()
    model_id = serializers.CharField(allow_null=True, help_text="The worker that holds the task now.")
    previous = serializers.CharField(allow_null=True, help_text="The worker it was taken from, if any.")
    attempts = serializers.IntegerField()


class DetectorModeAnswerSerializer(serializers.Serializer):
    detector = serializers.CharField()
    before = serializers.CharField(help_text="The mode it had.")
    mode = serializers.CharField(help_text="The mode it has now.")
    changed = serializers.BooleanField(help_text="False when it already had this mode: nothing was published.")
    settings_version = serializers.IntegerField(help_text="The settings version in force after the command.")
    actor = serializers.CharField(help_text="Who acted: user:<name> or key:<name>.")
    reason = serializers.CharField(help_text="The new version's note (who, what and why); empty if unchanged.")


class SystemModeSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=["normal", "halted"])
    halted = serializers.BooleanField()
    since = serializers.DateTimeField(allow_null=True, help_text="When the mode last changed.")
    by = serializers.CharField(help_text="Who last halted or resumed; empty if nobody ever did.")
    reason = serializers.CharField()


# --- Views ---------------------------------------------------------------------------------------------------

IDEMPOTENCY = _idempotency_parameter(COMMAND_KEY_MAX)


class _Command(APIView):
    """One intervention: validate, run the service under director_command, answer its JSON."""

    permission_classes = [IsDirector]
    error_codes = (404, 409, 422)
    command = ""
    input_serializer = DirectorReasonSerializer
    created = False

    def perform(self, data: dict, *, now, **path) -> dict:
        raise NotImplementedError

    def post(self, request, **path):
        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        now = timezone.now()
        answer, replayed = d.director_command(
            command=self.command,
            idempotency_key=_idempotency_key(request, max_length=COMMAND_KEY_MAX),
            body={"path": path, **data.validated_data},
            actor=request.user,
            now=now,
            run=lambda: self.perform(dict(data.validated_data), now=now, **path),
        )
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        code = status.HTTP_201_CREATED if self.created and not replayed else status.HTTP_200_OK
        return Response(answer, status=code, headers=headers)


COMMAND_DESCRIPTION = (
    "The Director only (a Director's key or login); Manager, Auditor and Viewer get 403. A `reason` is required "
    "and recorded with the Director as actor; the Manager's inbox is told. An intervention that does not apply "
    "(the worker's state, a decided sanction, a halt) is refused with 400 or 409 naming the field and why."
)


def _command_schema(request, response, *, summary: str, created: bool = False, more: str = ""):
    return extend_schema(
        summary=summary,
        description=f"{COMMAND_DESCRIPTION} {more}".strip(),
        request=request,
        responses={201 if created else 200: response},
        parameters=[IDEMPOTENCY],
    )


class _WorkerCommand(_Command):
    action = ""

    def perform(self, data, *, now, model_id):
        return d.director_worker_action(
            model_id=model_id, action=self.action, reason=data["reason"], actor=self.request.user, now=now
        )


class WorkerSuspendView(_WorkerCommand):
    command, action, input_serializer = "suspend", "SUSPEND", SuspendSerializer

    def perform(self, data, *, now, model_id):
        return d.director_worker_action(
            model_id=model_id,
            action=self.action,
            reason=data["reason"],
            actor=self.request.user,
            now=now,
            minutes=data["minutes"],
            until=data["until"],
        )

    @_command_schema(
        SuspendSerializer,
        WorkerActionAnswerSerializer,
        summary="Suspend a worker, for a length",
        more="The length is `minutes` or `until`; with neither, the policy's suspension length.",
    )
    def post(self, request, model_id: str):
        return super().post(request, model_id=model_id)


class WorkerReinstateView(_WorkerCommand):
    command, action = "reinstate", "REINSTATE"

    @_command_schema(DirectorReasonSerializer, WorkerActionAnswerSerializer, summary="Reinstate a suspended worker")
    def post(self, request, model_id: str):
        return super().post(request, model_id=model_id)


class WorkerTerminateView(_WorkerCommand):
    command, action = "terminate", "TERMINATE"

    @_command_schema(DirectorReasonSerializer, WorkerActionAnswerSerializer, summary="Terminate a worker")
    def post(self, request, model_id: str):
        return super().post(request, model_id=model_id)


class WorkerRehireView(_WorkerCommand):
    command, action = "rehire", "REHIRE"

    @_command_schema(
        DirectorReasonSerializer,
        WorkerActionAnswerSerializer,
        summary="Rehire a terminated worker",
        more="Back as JUNIOR on PROBATION; a blacklisted worker is never rehired.",
    )
    def post(self, request, model_id: str):
        """Back as JUNIOR, on PROBATION. A blacklisted worker is never rehired."""
        return super().post(request, model_id=model_id)


class WorkerBlacklistView(_WorkerCommand):
    command, action = "blacklist", "BLACKLIST"

    @_command_schema(DirectorReasonSerializer, WorkerActionAnswerSerializer, summary="Blacklist a worker")
    def post(self, request, model_id: str):
        return super().post(request, model_id=model_id)


class ActionOverturnView(_Command):
    command = "overturn"

    def perform(self, data, *, now, action_id):
        return d.director_overturn(action_id=action_id, reason=data["reason"], actor=self.request.user, now=now)

    @_command_schema(DirectorReasonSerializer, OverturnAnswerSerializer, summary="Overturn a disciplinary action")
    def post(self, request, action_id: int):
        return super().post(request, action_id=action_id)


class _ReviewView(_Command):
    decision = ""

    def perform(self, data, *, now, pending_id):
        return d.director_review(
            pending_id=pending_id, decision=self.decision, reason=data["reason"], actor=self.request.user, now=now
        )


class SanctionConfirmView(_ReviewView):
    command, decision = "confirm", "confirm"

    @_command_schema(DirectorReasonSerializer, ReviewAnswerSerializer, summary="Confirm a sanction held for review")
    def post(self, request, pending_id: int):
        return super().post(request, pending_id=pending_id)


class SanctionDismissView(_ReviewView):
    command, decision = "dismiss", "dismiss"

    @_command_schema(DirectorReasonSerializer, ReviewAnswerSerializer, summary="Dismiss a sanction held for review")
    def post(self, request, pending_id: int):
        return super().post(request, pending_id=pending_id)


class HoldPlaceView(_Command):
    command, input_serializer, created = "hold", HoldPlaceSerializer, True

    def perform(self, data, *, now):
        return d.director_hold_place(
            kind=data["kind"],
            model_id=data["model_id"],
            incident_id=data["incident_id"],
            reason=data["reason"],
            actor=self.request.user,
            now=now,
        )

    @_command_schema(HoldPlaceSerializer, HoldAnswerSerializer, summary="Hold records from the purge", created=True)
    def post(self, request):
        return super().post(request)


class HoldReleaseView(_Command):
    command = "release"

    def perform(self, data, *, now, hold_id):
        return d.director_hold_release(hold_id=hold_id, reason=data["reason"], actor=self.request.user, now=now)

    @_command_schema(DirectorReasonSerializer, HoldAnswerSerializer, summary="Release (lift) a hold")
    def post(self, request, hold_id: int):
        return super().post(request, hold_id=hold_id)


class TaskReassignView(_Command):
    command, input_serializer = "reassign", DirectorTaskReassignSerializer

    def perform(self, data, *, now, task_id):
        return d.director_task_reassign(
            task_id=task_id, model_id=data["model_id"], reason=data["reason"], actor=self.request.user, now=now
        )

    @_command_schema(
        DirectorTaskReassignSerializer,
        DirectorTaskAnswerSerializer,
        summary="Force-reassign a task",
        more="Taken from its current worker and given to `model_id`, or to the best eligible other worker; refused, "
        "the task left where it was, if nobody else is eligible or the system is halted.",
    )
    def post(self, request, task_id: str):
        return super().post(request, task_id=task_id)


class TaskAssignView(_Command):
    command, input_serializer = "assign", DirectorTaskAssignSerializer

    def perform(self, data, *, now, task_id):
        return d.director_task_assign(
            task_id=task_id, model_id=data["model_id"], reason=data["reason"], actor=self.request.user, now=now
        )

    @_command_schema(
        DirectorTaskAssignSerializer, DirectorTaskAnswerSerializer, summary="Assign a waiting task to a chosen worker"
    )
    def post(self, request, task_id: str):
        return super().post(request, task_id=task_id)


class HaltView(_Command):
    command = "halt"

    def perform(self, data, *, now):
        return d.director_halt(reason=data["reason"], actor=self.request.user, now=now)

    @_command_schema(
        DirectorReasonSerializer,
        SystemModeSerializer,
        summary="Emergency halt: route and assign nobody",
        more="Until the resume, routing offers nobody and assignments are refused (409, code `halted`); reports "
        "are still recorded and a repaired task waits.",
    )
    def post(self, request):
        return super().post(request)


class ResumeView(_Command):
    command = "resume"

    def perform(self, data, *, now):
        return d.director_resume(reason=data["reason"], actor=self.request.user, now=now)

    @_command_schema(
        DirectorReasonSerializer,
        SystemModeSerializer,
        summary="Resume after a halt",
        more="Tasks that went waiting during the halt are routed again right after.",
    )
    def post(self, request):
        return super().post(request)


class DetectorModeView(_Command):
    command, input_serializer = "detector_mode", DetectorModeSerializer

    def perform(self, data, *, now, name):
        change = detector_mode_set(
            name=name, mode=data["mode"], reason=data["reason"], actor=self.request.user, now=now
        )
        return change.as_dict()

    @_command_schema(
        DetectorModeSerializer,
        DetectorModeAnswerSerializer,
        summary="Set a detector's mode",
        more="Publishes a new governance settings version naming the Director and the reason; the mode it already "
        "has publishes nothing. An unknown detector is a 404 naming `name`.",
    )
    def post(self, request, name: str):
        return super().post(request, name=name)


class ModeView(APIView):
    permission_classes = [RecordsReader]

    @extend_schema(
        summary="The system mode: normal or halted, by whom, since when, why", responses=SystemModeSerializer
    )
    def get(self, request):
        return Response(d.director_mode())
