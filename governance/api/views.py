"""The Auditor's, HR's and the Accountant's endpoints, and the records. Thin: validate, call one service."""

from heapq import merge

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from aura_project.validation import text_problem
from governance.api import serializers as s
from governance.domain.detection import SEVERITY_MAX, SEVERITY_MIN
from governance.models import AuditRun, DisciplinaryAction, Incident, ScoreRecord
from governance.selectors import incidents_list, settings_current, worker_standing
from governance.selectors_detectors import detectors_list
from governance.services.audit_runs import audit_run_submit
from governance.services.discipline import enforcement_run
from governance.services.reports import ReportInput, report_submit
from governance.services.scoring import score_calculate, score_record
from workforce.api import views as workforce_views
from workforce.api.params import choice_param, datetime_param, int_param
from workforce.api.permissions import ReadAnyRoleWriteManager, RecordsReader
from workforce.models import Worker

IDEMPOTENCY_HEADER = "HTTP_IDEMPOTENCY_KEY"
COMMAND_KEY_MAX = 200  # CommandRecord.key holds 250, with room for the "<endpoint>:" prefix
SCORE_KEY_PREFIX = "api:"
SCORE_RUN_KEY_MAX = ScoreRecord._meta.get_field("run_key").max_length
RECORD_LIMIT_MAX = 500
RECORD_OFFSET_MAX = 100_000  # the timeline merges offset + limit rows of each kind in memory


def _idempotency_key(request, *, max_length: int) -> str | None:
    """The Idempotency-Key header, refused with a 400 when longer than the column that will store it."""
    key = request.META.get(IDEMPOTENCY_HEADER) or None
    if key is not None and len(key) > max_length:
        raise ValidationError({"Idempotency-Key": [f"Ensure this header has no more than {max_length} characters."]})
    if key is not None and (problem := text_problem(key)):
        raise ValidationError({"Idempotency-Key": [problem]})
    return key


def _idempotency_parameter(max_length: int) -> OpenApiParameter:
    return OpenApiParameter(
        "Idempotency-Key",
        {"type": "string", "minLength": 1, "maxLength": max_length},
        OpenApiParameter.HEADER,
        description="A retry with the same key and body returns the first answer and writes nothing again.",
    )


def _report_id(request, body_id: str | None) -> str | None:
    header = _idempotency_key(request, max_length=s.REPORT_ID_MAX)
    if header and body_id and header != body_id:
        raise ValidationError({"report_id": ["differs from the Idempotency-Key header"]})
    return body_id or header


class AuditView(APIView):
    permission_classes = [ReadAnyRoleWriteManager]
    error_codes = (404, 409, 422)

    @extend_schema(
        request=s.AuditReportSerializer,
        responses=s.AuditResultSerializer,
        parameters=[_idempotency_parameter(s.REPORT_ID_MAX)],
    )
    def post(self, request):
        data = s.AuditReportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        report_id = _report_id(request, fields.pop("report_id"))
        outcome = report_submit(
            report=ReportInput(**fields), report_id=report_id, now=timezone.now(), actor=request.user
        )
        headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
        return Response(outcome.body, status=status.HTTP_200_OK, headers=headers)


class AuditBatchView(APIView):
    permission_classes = [ReadAnyRoleWriteManager]
    error_codes = (422,)

    @extend_schema(
        request=s.AuditBatchSerializer,
        responses={202: s.AuditRunAcceptedSerializer},
        parameters=[_idempotency_parameter(COMMAND_KEY_MAX)],
    )
    def post(self, request):
        data = s.AuditBatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run, replayed = audit_run_submit(
            reports=[dict(r) for r in data.validated_data["reports"]],
            actor=request.user,
            now=timezone.now(),
            idempotency_key=_idempotency_key(request, max_length=COMMAND_KEY_MAX),
        )
        headers = {"Location": f"/api/audit-runs/{run.id}/"}
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        return Response(s.AuditRunAcceptedSerializer(run).data, status=status.HTTP_202_ACCEPTED, headers=headers)


class DetectorListView(APIView):
    permission_classes = [RecordsReader]

    @extend_schema(
        summary="The detectors, with their modes and thresholds in force",
        responses=s.DetectorSerializer(many=True),
    )
    def get(self, request):
        return Response(s.DetectorSerializer(detectors_list(settings_current()), many=True).data)


class AuditRunDetailView(APIView):
    permission_classes = [RecordsReader]

    @extend_schema(responses=s.AuditRunSerializer)
    def get(self, request, run_id):
        run = get_object_or_404(AuditRun, pk=run_id)
        return Response(s.AuditRunSerializer(run).data)


class EnforceView(APIView):
    permission_classes = [ReadAnyRoleWriteManager]
    error_codes = (404, 409, 422)

    @extend_schema(
        request=s.EnforceSerializer,
        responses=s.EnforceResultSerializer,
        parameters=[_idempotency_parameter(COMMAND_KEY_MAX)],
    )
    def post(self, request):
        data = s.EnforceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = enforcement_run(
            **data.validated_data,
            now=timezone.now(),
            actor=request.user,
            idempotency_key=_idempotency_key(request, max_length=COMMAND_KEY_MAX),
        )
        return Response(result)


class ScoreView(APIView):
    permission_classes = [ReadAnyRoleWriteManager]
    error_codes = (404, 409, 422)

    @extend_schema(
        request=s.ScoreSerializer,
        responses=s.ScoreResultSerializer,
        parameters=[_idempotency_parameter(SCORE_RUN_KEY_MAX - len(SCORE_KEY_PREFIX))],
    )
    def post(self, request):
        data = s.ScoreSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        if v["model_id"] is None:
            result = score_calculate(
                metrics=v["metrics"],
                penalties=v["penalties"],
                previous_score=v["previous_score"],
                settings=settings_current(),
            )
        else:
            key = _idempotency_key(request, max_length=SCORE_RUN_KEY_MAX - len(SCORE_KEY_PREFIX))
            result = score_record(
                model_id=v["model_id"],
                metrics=v["metrics"],
                penalties=v["penalties"],
                previous_score=v["previous_score"],
                now=timezone.now(),
                actor=request.user,
                run_key=f"{SCORE_KEY_PREFIX}{key}" if key else None,
            )
        return Response(result)


class IncidentListView(APIView):
    permission_classes = [RecordsReader]
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS

    @extend_schema(
        parameters=[
            OpenApiParameter("worker", str, description="A worker's model_id."),
            OpenApiParameter("status", str, enum=Incident.Status.values),
            OpenApiParameter("severity", {"type": "integer", "minimum": SEVERITY_MIN, "maximum": SEVERITY_MAX}),
            OpenApiParameter("since", OpenApiTypes.DATETIME, description="Reported at or after; UTC if no offset."),
            OpenApiParameter("until", OpenApiTypes.DATETIME, description="Reported before; UTC if no offset."),
        ],
        responses=s.IncidentSerializer(many=True),
    )
    def get(self, request):
        qs = incidents_list(
            worker=request.query_params.get("worker"),
            status=choice_param(request, "status", Incident.Status.values),
            severity=int_param(request, "severity", None, minimum=SEVERITY_MIN, maximum=SEVERITY_MAX),
            since=datetime_param(request, "since"),
            until=datetime_param(request, "until"),
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(s.IncidentSerializer(page, many=True).data)


class IncidentDetailView(APIView):
    permission_classes = [RecordsReader]

    @extend_schema(responses=s.IncidentSerializer)
    def get(self, request, incident_id):
        incident = get_object_or_404(Incident.objects.select_related("worker", "task"), pk=incident_id)
        return Response(s.IncidentSerializer(incident).data)


class WorkerListView(workforce_views.WorkerListView):
    """The roster and hiring, with the tier budgets of the governance settings in force."""

    def tier_budgets(self) -> dict:
        return dict(settings_current().tier_budgets)

    def serializer_context(self) -> dict:
        return {"provisional_runs": settings_current().provisional_runs}


class WorkerDetailView(APIView):
    permission_classes = [RecordsReader]

    @extend_schema(responses=s.WorkerDetailSerializer)
    def get(self, request, model_id: str):
        worker = get_object_or_404(Worker, model_id=model_id)
        standing = worker_standing(worker=worker, now=timezone.now(), s=settings_current())
        worker.active_strikes = standing["active_strikes"]
        worker.active_warnings = standing["active_warnings"]
        context = {"provisional_runs": settings_current().provisional_runs}
        return Response(s.WorkerDetailSerializer(worker, context=context).data)


class WorkerRecordView(APIView):
    """The worker's disciplinary record as one timeline, newest first, paged with limit and offset."""

    permission_classes = [RecordsReader]

    @extend_schema(
        parameters=[
            OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": RECORD_LIMIT_MAX, "default": 50}),
            OpenApiParameter("offset", {"type": "integer", "minimum": 0, "maximum": RECORD_OFFSET_MAX, "default": 0}),
        ],
        responses=s.WorkerRecordSerializer,
    )
    def get(self, request, model_id: str):
        worker = Worker.objects.filter(model_id=model_id).first()
        if worker is None and Worker.objects.filter(model_id=f"{model_id}/record").exists():
            # A raw id may itself end in /record: "workers/acme/record/" is then worker "acme/record".
            return WorkerDetailView().get(request, f"{model_id}/record")
        if worker is None:
            raise Http404
        limit = int_param(request, "limit", 50, minimum=1, maximum=RECORD_LIMIT_MAX)
        offset = int_param(request, "offset", 0, minimum=0, maximum=RECORD_OFFSET_MAX)
        window = offset + limit
        sources = [
            (
                "action",
                "created_at",
                s.DisciplinaryActionSerializer,
                DisciplinaryAction.objects.filter(worker=worker).select_related("actor", "overturned_by"),
            ),
            ("penalty", "created_at", s.PenaltySerializer, worker.penalties.all()),
            ("score", "created_at", s.ScoreRecordSerializer, worker.scores.all()),
            ("incident", "reported_at", s.IncidentSerializer, worker.incidents.select_related("worker", "task")),
        ]
        streams = []
        total = 0
        for kind, when, serializer, qs in sources:
            total += qs.count()
            rows = qs.order_by(f"-{when}", "-pk")[:window]
            streams.append([(getattr(r, when), kind, serializer, r) for r in rows])
        merged = list(merge(*streams, key=lambda entry: entry[0], reverse=True))[offset:window]
        results = [{"type": kind, "at": at, "data": ser(row).data} for at, kind, ser, row in merged]
        return Response(
            {"model_id": worker.model_id, "count": total, "offset": offset, "limit": limit, "results": results}
        )
