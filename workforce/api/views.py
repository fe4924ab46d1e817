"""The Manager's workforce endpoints. Thin: validate, call one service or selector, present the result."""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from workforce.api import serializers as s
from workforce.api.params import BIGINT_MAX, choice_param, int_param
from workforce.api.permissions import ManagerOnly, ReadAnyRoleWriteManager
from workforce.domain.routing import rank
from workforce.models import Task, Worker
from workforce.selectors import events_after, routing_candidates, system_mode, worker_list
from workforce.services.tasks import task_assign_now, task_complete, task_register
from workforce.services.workers import worker_hire

EVENTS_LIMIT_MAX = 1000


class WorkerListView(APIView):
    permission_classes = [ReadAnyRoleWriteManager]
    pagination_class = api_settings.DEFAULT_PAGINATION_CLASS
    error_codes = {"post": (409,)}

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=Worker.Status.values),
            OpenApiParameter("tier", str, enum=Worker.Tier.values),
            OpenApiParameter("capability", str),
        ],
        responses=s.WorkerSerializer(many=True),
    )
    def get(self, request):
        # An unknown status or tier (say "active") would silently list nobody; say so instead.
        qs = worker_list(
            status=choice_param(request, "status", Worker.Status.values),
            tier=choice_param(request, "tier", Worker.Tier.values),
            capability=request.query_params.get("capability") or None,
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        data = s.WorkerSerializer(page, many=True, context=self.serializer_context()).data
        return paginator.get_paginated_response(data)

    @extend_schema(request=s.WorkerHireSerializer, responses={201: s.WorkerSerializer})
    def post(self, request):
        data = s.WorkerHireSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        worker = worker_hire(**data.validated_data, tier_budgets=self.tier_budgets(), actor=request.user)
        return Response(
            s.WorkerSerializer(worker, context=self.serializer_context()).data, status=status.HTTP_201_CREATED
        )

    def tier_budgets(self) -> dict | None:
        """The budgets a new hire gets by tier; None for the defaults. Governance, which keeps the Director's
        settings, serves this route with its own answer (workforce may not import governance)."""
        return None

    def serializer_context(self) -> dict:
        """What the worker serializer needs from the governance settings (governance serves this route)."""
        return {}


class TaskRegisterView(APIView):
    permission_classes = [ReadAnyRoleWriteManager]
    error_codes = (404, 409)

    @extend_schema(request=s.TaskRegisterSerializer, responses={201: s.TaskDetailSerializer})
    def post(self, request):
        data = s.TaskRegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task = task_register(**data.validated_data, now=timezone.now(), actor=request.user)
        task.refresh_from_db()
        return Response(s.TaskDetailSerializer(task).data, status=status.HTTP_201_CREATED)


class TaskDetailView(APIView):
    permission_classes = [ReadAnyRoleWriteManager]

    @extend_schema(responses=s.TaskDetailSerializer)
    def get(self, request, task_id: str):
        task = get_object_or_404(Task.objects.select_related("current_worker"), task_id=task_id)
        return Response(s.TaskDetailSerializer(task).data)


class TaskAssignView(APIView):
    permission_classes = [ReadAnyRoleWriteManager]
    error_codes = (409,)

    @extend_schema(request=s.TaskAssignSerializer, responses=s.TaskDetailSerializer)
    def post(self, request, task_id: str):
        task = get_object_or_404(Task, task_id=task_id)
        data = s.TaskAssignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task_assign_now(task=task, model_id=data.validated_data["model_id"], now=timezone.now(), actor=request.user)
        task.refresh_from_db()
        return Response(s.TaskDetailSerializer(task).data)

    @extend_schema(exclude=True)
    def get(self, request, task_id: str):
        # A raw id may itself end in /assign: "GET tasks/run-7/assign/" reads task "run-7/assign".
        return TaskDetailView().get(request, f"{task_id}/assign")


class TaskCompleteView(APIView):
    permission_classes = [ReadAnyRoleWriteManager]
    error_codes = (409,)

    @extend_schema(request=None, responses=s.TaskDetailSerializer)
    def post(self, request, task_id: str):
        task = get_object_or_404(Task, task_id=task_id)
        task = task_complete(task=task, now=timezone.now(), actor=request.user)
        return Response(s.TaskDetailSerializer(task).data)

    @extend_schema(exclude=True)
    def get(self, request, task_id: str):
        return TaskDetailView().get(request, f"{task_id}/complete")


class RoutingView(APIView):
    permission_classes = [ReadAnyRoleWriteManager]

    @extend_schema(parameters=[s.RoutingQuerySerializer], responses=s.RoutingEntrySerializer(many=True))
    def get(self, request):
        query = s.RoutingQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        excluded = {m for m in q["exclude"].split(",") if m}
        halted = system_mode().halted
        ranked = rank(
            [] if halted else routing_candidates(capability=q["capability"]),
            capability=q["capability"],
            priority=q["priority"],
            now=timezone.now(),
            failed=excluded,
            halted=halted,
        )
        body = [
            {
                "rank": i,
                "model_id": c.model_id,
                "tier": c.state.tier,
                "status": c.state.status,
                "priority": c.state.priority,
                "reputation": c.reputation,
                "open_assignments": c.open_assignments,
            }
            for i, c in enumerate(ranked, start=1)
        ]
        # While halted the list is empty; the header says why (GET /api/director/mode/ says by whom and since when).
        headers = {"Aura-System-Mode": "halted"} if halted else {}
        return Response(s.RoutingEntrySerializer(body, many=True).data, headers=headers)


class EventListView(APIView):
    permission_classes = [ManagerOnly]

    @extend_schema(
        parameters=[
            OpenApiParameter("after", {"type": "integer", "minimum": 0, "maximum": BIGINT_MAX, "default": 0}),
            OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": EVENTS_LIMIT_MAX, "default": 100}),
        ],
        responses=s.EventPageSerializer,
    )
    def get(self, request):
        after = int_param(request, "after", 0, minimum=0, maximum=BIGINT_MAX)
        limit = int_param(request, "limit", 100, minimum=1, maximum=EVENTS_LIMIT_MAX)
        events = events_after(cursor=after, limit=limit + 1)
        page, more = events[:limit], len(events) > limit
        next_cursor = page[-1].id if page else after
        return Response(
            {"events": s.EventSerializer(page, many=True).data, "next_cursor": next_cursor, "has_more": more}
        )
