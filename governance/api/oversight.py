"""GET /api/detectors/oversight/: the auditors audited. For every detector, and each of its violation types, the
findings, sanctions, overturns and overturn rate over a rolling window, with the settings that switch a detector
in enforce mode to observe and the latest such switches. Every role reads it (governance.selectors_oversight)."""

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.domain.detectors import MODES
from governance.selectors import settings_current
from governance.selectors_oversight import oversight_report
from workforce.api.params import int_param
from workforce.api.permissions import RecordsReader

WINDOW_DAYS_MAX = 365


class OversightLineSerializer(serializers.Serializer):
    violation_type = serializers.CharField(help_text='The violation type; "" on a detector\'s own line.')
    findings = serializers.IntegerField(help_text="Findings in the window, in any mode.")
    enforced = serializers.IntegerField(help_text="Of them, found in enforce mode.")
    observed = serializers.IntegerField(help_text="Of them, found in observe mode (they sanction nobody).")
    sanctions = serializers.IntegerField(
        help_text="Disciplinary actions in the window that punish (warning to blacklist) on an incident where the "
        "detector had an enforce-mode finding."
    )
    overturns = serializers.IntegerField(help_text="Of those sanctions, the ones the Director overturned.")
    overturn_rate = serializers.FloatField(allow_null=True, help_text="overturns / sanctions, 0-1; null: none.")
    overturn_pct = serializers.FloatField(allow_null=True, help_text="The same in percent, one decimal.")


class OversightDetectorSerializer(OversightLineSerializer):
    detector = serializers.CharField()
    mode = serializers.ChoiceField(choices=MODES, help_text="Its mode under the settings in force.")
    by_type = OversightLineSerializer(many=True)


class AutoObserveSerializer(serializers.Serializer):
    detector = serializers.CharField()
    at = serializers.DateTimeField()
    sanctions = serializers.IntegerField()
    overturns = serializers.IntegerField()
    overturn_pct = serializers.FloatField()
    observe_pct = serializers.IntegerField()
    window_days = serializers.IntegerField()
    settings_version = serializers.IntegerField(help_text="The settings version the switch published.")
    actor = serializers.CharField(help_text="Who switched it: system:oversight (beat) or system:command.")
    event_id = serializers.IntegerField(help_text="Its detector.auto_observe event in the Manager's inbox.")


class OversightSerializer(serializers.Serializer):
    now = serializers.DateTimeField()
    since = serializers.DateTimeField(help_text="The window's start: sanctions and findings from here on.")
    window_days = serializers.IntegerField()
    observe_pct = serializers.IntegerField(
        help_text="A detector in enforce mode whose overturn rate passes this is switched to observe..."
    )
    min_sanctions = serializers.IntegerField(help_text="...once it has at least this many sanctions in the window.")
    detectors = OversightDetectorSerializer(many=True)
    auto_observed = AutoObserveSerializer(many=True, help_text="The latest automatic switches to observe.")


class DetectorOversightView(APIView):
    permission_classes = [RecordsReader]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "window_days",
                {"type": "integer", "minimum": 1, "maximum": WINDOW_DAYS_MAX},
                description="The rolling window in days; default: the settings' overturn_window_days.",
            )
        ],
        responses=OversightSerializer,
    )
    def get(self, request):
        window = int_param(request, "window_days", None, minimum=1, maximum=WINDOW_DAYS_MAX)
        report = oversight_report(now=timezone.now(), settings=settings_current(), window_days=window)
        return Response(OversightSerializer(report).data)
