"""The Director's control room for governance: reports, incidents, disciplinary actions, scores, penalties,
holds, purges and settings, and the governed side of the Worker page.

Evidence is read-only here for everyone and the normal delete is off; the database refuses edits and deletes
too (migration 0004). What the Director may do instead are the actions below, each Director-only
(`permissions=["director"]`, so other roles are never offered them and a crafted POST finds no such action),
each asking for a reason on an intermediate page, and each calling one service that checks the Director
again, records who and why, and writes in one transaction.

The Worker admin is registered from workforce.admin and extended here: its actions and charts need governance
services and records, and workforce never imports governance.
"""

from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Subquery
from django.http import Http404, HttpResponseBase, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from unfold.admin import ModelAdmin
from unfold.decorators import display
from unfold.enums import ActionVariant
from unfold.widgets import (
    UnfoldAdminDecimalFieldWidget,
    UnfoldAdminIntegerFieldWidget,
    UnfoldAdminSelectWidget,
    UnfoldAdminTextareaWidget,
    UnfoldAdminTextInputWidget,
    UnfoldBooleanWidget,
)

from aura_project.admin_scale import LargeTableAdminMixin, fixed_values_filter
from aura_project.errors import DomainError
from governance import charts, exports
from governance.domain import scoring
from governance.domain.detection import DetectionConfig
from governance.domain.detectors import REGISTRY, Mode
from governance.domain.escalation import ESCALATION_TIERS
from governance.domain.ladder import DEFAULT_POLICIES
from governance.domain.versions import changes_between
from governance.models import (
    AuditRecord,
    AuditRun,
    AuditRunItem,
    BeatJobRun,
    CommandRecord,
    DisciplinaryAction,
    Finding,
    GovernanceSettings,
    Hold,
    Incident,
    IncidentDayCount,
    Penalty,
    PendingSanction,
    Policy,
    PurgeLog,
    PurgePermit,
    ScoreRecord,
    ScoringRun,
    Spike,
)
from governance.selectors import settings_current, worker_standing
from governance.selectors_detectors import detector_setup
from governance.services.detectors import detector_mode_set, detector_settings_publish
from governance.services.discipline import director_intervene
from governance.services.holds import hold_lift, hold_place
from governance.services.overturn import action_overturn
from governance.services.policies import policy_problems, policy_update
from governance.services.purge import REDACTED_ITEMS, records_purge_early
from governance.services.review import CONFIRM, DISMISS, sanction_review
from governance.services.scoring_runs import scoring_run_start
from governance.services.settings import settings_problems
from workforce import admin as workforce_admin
from workforce.admin import (
    AppendOnlyAdminMixin,
    HistoryAdmin,
    InternalTableMixin,
    RoleAccessMixin,
    ViewOnlyAdminMixin,
)
from workforce.domain.lifecycle import TIERS, intervention_problem
from workforce.models import SystemMode, Task, Worker
from workforce.selectors import system_mode, worker_state
from workforce.services.system import system_halt, system_resume
from workforce.services.tasks import task_assign_chosen, task_reassign_force

# An early purge deletes in one transaction; a larger cleanup is the retention purge's job, in chunks.
EARLY_PURGE_LIMIT = 500
TREND_POINTS = 50
APPLY = "apply"  # set by the intermediate page's form: the Director has filled it in and confirmed


# --- Intermediate pages --------------------------------------------------------------------------------------


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=500, widget=UnfoldAdminTextareaWidget(attrs={"rows": 3}), help_text="Kept on the record."
    )


class PurgeForm(ReasonForm):
    confirm = forms.BooleanField(label="I understand this deletes evidence permanently", widget=UnfoldBooleanWidget)


class HoldForm(ReasonForm):
    kind = forms.ChoiceField(choices=Hold.Kind.choices, initial=Hold.Kind.DIRECTOR, widget=UnfoldAdminSelectWidget)

    field_order = ["kind", "reason"]


def _intermediate(
    modeladmin,
    request,
    queryset,
    *,
    action: str,
    form_class: type[forms.Form],
    title: str,
    submit: str,
    intro: str = "",
    danger: str = "",
):
    """The cleaned form once the Director has confirmed it, or else the page that asks (again, with errors)."""
    form = form_class(request.POST) if APPLY in request.POST else form_class()
    if form.is_bound and form.is_valid():
        return form.cleaned_data
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "intro": intro,
        "danger": danger,
        "opts": modeladmin.model._meta,
        "queryset": queryset,
        "form": form,
        "action": action,
        "submit": submit,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": modeladmin.media + form.media,
    }
    return TemplateResponse(request, "admin/aura/action_form.html", context)


def _report(modeladmin, request, *, done: str, failures: list[str]) -> None:
    if done:
        modeladmin.message_user(request, done, messages.SUCCESS)
    if failures:
        modeladmin.message_user(request, "Refused: " + "; ".join(failures), messages.ERROR)


def _apply_each(modeladmin, request, objects, call, *, verb: str, noun: str) -> None:
    """Call one service per chosen record, each in its own transaction; report successes and refusals."""
    done, failures = 0, []
    for obj in objects:
        try:
            call(obj)
            done += 1
        except DomainError as exc:
            failures.append(f"{obj}: {exc.message}")
    _report(modeladmin, request, done=f"{verb} {_plural(done, noun)}." if done else "", failures=failures)


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


class ObjectActionsMixin:
    """Offers some of a model's admin actions on one record's change page too, through the same functions,
    so a Director acting from the record and from the list goes through the same form and service."""

    object_actions: tuple[str, ...] = ()
    danger_actions: frozenset[str] = frozenset()
    # The action bar shares the header with the record's title: short labels keep the title readable.
    object_action_labels = {
        "purge_early": "Purge now",
        "place_hold": "Place a hold",
        "overturn_actions": "Overturn",
    }
    change_form_template = "admin/aura/change_form.html"

    def get_urls(self):
        opts = self.model._meta
        act = path(
            "<path:object_id>/act/<str:action>/",
            self.admin_site.admin_view(self.object_action_view),
            name=f"{opts.app_label}_{opts.model_name}_act",
        )
        return [act, *super().get_urls()]

    def object_action_applies(self, obj, name: str) -> bool:
        return True

    def object_actions_for(self, request, obj) -> list[tuple[str, str, dict]]:
        """(name, label, how unfold's action bar draws it) for each action offered on this record."""
        offered = self.get_actions(request)  # already filtered by role
        return [
            (
                name,
                self.object_action_labels.get(name, offered[name][2]),
                {
                    "variant": ActionVariant.DANGER if name in self.danger_actions else ActionVariant.DEFAULT,
                    "attrs": {"data-aura-action": name},
                },
            )
            for name in self.object_actions
            if name in offered and self.object_action_applies(obj, name)
        ]

    def object_action_view(self, request, object_id, action):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.model._meta, object_id)
        offered = self.get_actions(request)
        if action not in self.object_actions or action not in offered:
            raise PermissionDenied
        rows = self.model._default_manager.filter(pk=obj.pk)
        response = offered[action][0](self, request, rows)
        if isinstance(response, HttpResponseBase):
            return response
        name = f"admin:{self.model._meta.app_label}_{self.model._meta.model_name}"
        if rows.exists():
            return HttpResponseRedirect(reverse(f"{name}_change", args=[quote(obj.pk)]))
        return HttpResponseRedirect(reverse(f"{name}_changelist"))  # purged

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        obj = self.get_object(request, unquote(object_id))
        if obj is not None:
            extra_context["object_actions"] = self.object_actions_for(request, obj)
        return super().change_view(request, object_id, form_url, extra_context)


# --- Director's actions --------------------------------------------------------------------------------------


def _table_labels() -> dict[str, str]:
    labels = {model._meta.db_table: str(model._meta.verbose_name_plural) for model in apps.get_models()}
    return {**labels, REDACTED_ITEMS: "batch items redacted"}


@admin.action(description="Purge selected records now (Director)", permissions=["director"])
def purge_early(modeladmin, request, queryset):
    """The Director's manual cleanup of chosen records before their time."""
    opts = modeladmin.model._meta
    chosen = list(queryset[: EARLY_PURGE_LIMIT + 1])
    if len(chosen) > EARLY_PURGE_LIMIT:
        modeladmin.message_user(
            request,
            f"Choose at most {EARLY_PURGE_LIMIT} records for an early purge; the retention purge handles the rest.",
            messages.ERROR,
        )
        return None
    takes_along = {
        Incident: " An incident takes its report, disciplinary actions (with their overturns) and penalties.",
        DisciplinaryAction: " An action takes its overturn with it.",
    }.get(modeladmin.model, "")
    answer = _intermediate(
        modeladmin,
        request,
        chosen,
        action="purge_early",
        form_class=PurgeForm,
        title=f"Purge {opts.verbose_name_plural} now",
        submit="Purge permanently",
        intro=(
            "These records and their history rows are deleted before their retention period ends."
            + takes_along
            + " A purge log names you, your reason and what was deleted. Records under an open hold are refused."
        ),
        danger="This cannot be undone: no copy of the evidence is kept.",
    )
    if not isinstance(answer, dict):
        return answer
    try:
        log = records_purge_early(
            model_label=opts.label_lower,
            ids=[obj.pk for obj in chosen],
            reason=answer["reason"],
            actor=request.user,
            now=timezone.now(),
        )
    except DomainError as exc:
        modeladmin.message_user(request, f"Nothing was purged: {exc.message}", messages.ERROR)
        return None
    labels = _table_labels()
    counts = ", ".join(f"{labels.get(table, table)}: {n}" for table, n in log.counts.items())
    modeladmin.message_user(
        request, f"Purged {_plural(len(chosen), 'chosen record')}. Deleted {counts}.", messages.SUCCESS
    )
    return None


@admin.action(description="Place a Director's hold", permissions=["director"])
def place_hold(modeladmin, request, queryset):
    """Keep the chosen workers' or incidents' records from every purge until the hold is lifted."""
    answer = _intermediate(
        modeladmin,
        request,
        queryset,
        action="place_hold",
        form_class=HoldForm,
        title="Place a hold",
        submit="Place the hold",
        intro=(
            "While a hold is open, no purge deletes the records it covers: every record of a held worker, "
            "or a held incident with its report, actions and penalties."
        ),
    )
    if not isinstance(answer, dict):
        return answer
    now = timezone.now()
    target = "worker" if modeladmin.model is Worker else "incident"
    _apply_each(
        modeladmin,
        request,
        queryset,
        lambda obj: hold_place(
            kind=answer["kind"], reason=answer["reason"], actor=request.user, now=now, **{target: obj}
        ),
        verb="Placed",
        noun="hold",
    )
    return None


@admin.action(description="Lift selected holds", permissions=["director"])
def lift_holds(modeladmin, request, queryset):
    answer = _intermediate(
        modeladmin,
        request,
        queryset,
        action="lift_holds",
        form_class=ReasonForm,
        title="Lift holds",
        submit="Lift the holds",
        intro="The records these holds cover fall under the retention purge again. Your reason stays on each hold.",
    )
    if not isinstance(answer, dict):
        return answer
    now = timezone.now()
    _apply_each(
        modeladmin,
        request,
        queryset,
        lambda hold: hold_lift(hold=hold, actor=request.user, now=now, reason=answer["reason"]),
        verb="Lifted",
        noun="hold",
    )
    return None


@admin.action(description="Overturn selected actions", permissions=["director"])
def overturn_actions(modeladmin, request, queryset):
    answer = _intermediate(
        modeladmin,
        request,
        queryset,
        action="overturn_actions",
        form_class=ReasonForm,
        title="Overturn disciplinary actions",
        submit="Overturn",
        intro=(
            "Each action gets an OVERTURN record naming you and your reason; the action itself stays on the "
            "record but stops counting. An incident with nothing left standing is marked overturned, and a "
            "worker suspended or terminated by an overturned action is reinstated."
        ),
    )
    if not isinstance(answer, dict):
        return answer
    now = timezone.now()
    _apply_each(
        modeladmin,
        request,
        queryset.order_by("pk"),
        lambda action: action_overturn(action=action, reason=answer["reason"], actor=request.user, now=now),
        verb="Overturned",
        noun="action",
    )
    return None


class SuspendForm(ReasonForm):
    hours = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=24 * 365,
        label="Length (hours)",
        help_text="Leave empty for the settings' suspension length.",
        widget=UnfoldAdminIntegerFieldWidget,
    )

    field_order = ["hours", "reason"]


def _intervention(action: str, verb: str, description: str, intro: str, form_class: type[forms.Form] = ReasonForm):
    """An admin action applying one Director's intervention to each chosen worker."""

    def intervene(modeladmin, request, queryset):
        answer = _intermediate(
            modeladmin,
            request,
            queryset,
            action=intervene.__name__,
            form_class=form_class,
            title=description,
            submit=description,
            intro=intro,
        )
        if not isinstance(answer, dict):
            return answer
        now = timezone.now()
        until = now + timedelta(hours=answer["hours"]) if answer.get("hours") else None
        _apply_each(
            modeladmin,
            request,
            queryset,
            lambda worker: director_intervene(
                worker=worker, action=action, reason=answer["reason"], actor=request.user, now=now, until=until
            ),
            verb=verb,
            noun="worker",
        )
        return None

    intervene.__name__ = f"worker_{action.lower()}"
    return admin.action(description=description, permissions=["director"])(intervene)


worker_rehire = _intervention(
    "REHIRE", "Rehired", "Rehire", "A terminated worker comes back as a JUNIOR on PROBATION. Blacklisted: never."
)
worker_suspend = _intervention(
    "SUSPEND",
    "Suspended",
    "Suspend",
    "The worker is not routed until the suspension ends; its tasks move on.",
    form_class=SuspendForm,
)
worker_reinstate = _intervention(
    "REINSTATE", "Reinstated", "Reinstate", "A suspended or cooling-down worker is routed again now."
)
worker_terminate = _intervention(
    "TERMINATE", "Terminated", "Terminate", "The worker is disabled and its open tasks are reassigned."
)
worker_blacklist = _intervention(
    "BLACKLIST", "Blacklisted", "Blacklist", "The worker is never routed again and can never be rehired."
)

# The admin offers an intervention only where the domain's rule lets it apply (the service refuses the rest).
INTERVENTION_ACTIONS = {
    "worker_rehire": "REHIRE",
    "worker_suspend": "SUSPEND",
    "worker_reinstate": "REINSTATE",
    "worker_terminate": "TERMINATE",
    "worker_blacklist": "BLACKLIST",
}


# --- Evidence ------------------------------------------------------------------------------------------------


def _rule_values(request, index: int) -> set:
    """Every violation type (index 0) or severity (1) HR's rules have named: the policies, their history and
    the detector's defaults. An incident's or a penalty's takes no other, so these are a filter's choices
    without a SELECT DISTINCT over the evidence. The tables read hold a few rows per policy edit; one query per
    page, however many filters ask."""
    if not hasattr(request, "_aura_rules"):
        policies = Policy.objects.order_by().values_list("violation_type", "severity")
        request._aura_rules = {
            *policies.union(Policy.history.order_by().values_list("violation_type", "severity")),
            *DetectionConfig().severities,
            *((rule.violation_type, rule.severity) for rule in DEFAULT_POLICIES.values()),
        }
    return {rule[index] for rule in request._aura_rules}


SeverityFilter = fixed_values_filter(lambda request: _rule_values(request, 1))
ViolationTypeFilter = fixed_values_filter(lambda request: _rule_values(request, 0))
# What the Accountant can apply after its guards (governance.domain.scoring.applied_action).
AppliedActionFilter = fixed_values_filter(
    lambda request: {scoring.NONE, scoring.WARNING, scoring.PROMOTE, scoring.TERMINATE}
)


def _label(text, variant: str = "", title: str = ""):
    """A badge in unfold's label style (unfold/helpers/label.html): variant danger, warning, success, info or
    primary; the title shows on hover."""
    colours = {
        "danger": "bg-red-100 text-red-700 dark:bg-red-500/20 dark:text-red-400",
        "warning": "bg-orange-100 text-orange-700 dark:bg-orange-500/20 dark:text-orange-400",
        "success": "bg-green-100 text-green-700 dark:bg-green-500/20 dark:text-green-400",
        "info": "bg-blue-100 text-blue-700 dark:bg-blue-500/20 dark:text-blue-400",
        "primary": "bg-primary-100 text-primary-700 dark:bg-primary-500/20 dark:text-primary-400",
    }.get(variant, "bg-base-500/8 text-base-700 dark:bg-base-500/20 dark:text-base-200")
    return format_html(
        '<span class="aura-label inline-block font-semibold rounded-default text-[11px] uppercase whitespace-nowrap '
        'h-6 leading-6 px-2 {}" title="{}">{}</span>',
        colours,
        title,
        text,
    )


ACTION_VARIANTS = {
    "WARNING": "warning",
    "STRIKE": "warning",
    "DEMOTE": "warning",
    "SUSPEND": "danger",
    "TERMINATE": "danger",
    "BLACKLIST": "danger",
    "PROMOTE": "success",
    "REHIRE": "success",
    "REINSTATE": "success",
    "CONFIRM": "success",
    "OVERTURN": "info",
}


def short_id(value) -> str:
    """A UUID's first block, the whole of it on hover: no id wrapping over four lines of a list."""
    return format_html('<span class="aura-id font-mono whitespace-nowrap" title="{}">{}</span>', value, str(value)[:8])


def violation_types(incident: Incident) -> list[str]:
    return [str(pair[0]) for pair in (incident.violations or []) if isinstance(pair, list | tuple) and pair]


def evidence_html(entries):
    """An incident's evidence (the attempt's last log entries) as a numbered list, each entry as text: a
    string as it is, anything else (a structured log line) as its keys and values."""
    if not entries:
        return format_html('<span class="text-base-400">{}</span>', "No log entries were kept.")

    def text(entry) -> str:
        if isinstance(entry, dict):
            return " · ".join(f"{key}: {value}" for key, value in entry.items())
        return str(entry)

    return format_html(
        '<ol class="aura-evidence font-mono text-xs leading-relaxed" style="list-style:decimal;padding-left:1.5rem">'
        "{}</ol>",
        format_html_join("", '<li class="whitespace-pre-wrap break-words">{}</li>', ((text(e),) for e in entries)),
    )


def incident_status(incident: Incident, *, pending: bool, standing: str | None):
    """What the Director needs of an incident's state: held for review by the spike guard, overturned, or
    actioned with the strongest action still standing (not just "Actioned" for every one)."""
    if incident.status == Incident.Status.OVERTURNED:
        return _label("Overturned", "info", "Every action it caused was overturned.")
    if pending:
        return _label("Awaiting review", "warning", "The spike guard held its sanction for the Director.")
    if incident.status == Incident.Status.ACTIONED:
        if standing:
            return _label(f"Actioned: {standing}", ACTION_VARIANTS.get(standing, ""), "The latest action standing.")
        return _label("Actioned", "")
    if incident.status == Incident.Status.OPEN:
        return _label("Open", "primary", "No action was taken on it (yet).")
    return _label(incident.get_status_display(), "")


class CsvExportMixin:
    """ "Export CSV" of the list as filtered now (search, filters, date), streamed (governance.exports). The
    Director and the Viewer may export; nobody else, whatever else they may see."""

    export_columns: list[tuple[str, str]] = []

    def get_urls(self):
        opts = self.model._meta
        export = path(
            "export/",
            self.admin_site.admin_view(self.export_view),
            name=f"{opts.app_label}_{opts.model_name}_export",
        )
        return [export, *super().get_urls()]

    def export_link(self, request) -> str:
        opts = self.model._meta
        query = request.GET.copy()
        for name in ("p", "_after", "_before", "e"):
            query.pop(name, None)
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_export")
        return f"{url}?{query.urlencode()}" if query else url

    def changelist_view(self, request, extra_context=None):
        extra_context = dict(extra_context or {})
        if exports.may_export(request.user):
            tool = {"title": "Export CSV", "link": self.export_link(request), "icon": "download", "id": "export-csv"}
            extra_context["list_tools"] = [*extra_context.get("list_tools", []), tool]
        return super().changelist_view(request, extra_context)

    def export_view(self, request):
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        if not (exports.may_export(request.user) and self.has_view_permission(request)):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            opts = self.model._meta
            return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist") + "?e=1")
        return exports.csv_response(
            changelist.queryset, self.export_columns, name=self.model._meta.model_name, now=timezone.now()
        )


class EvidenceAdmin(LargeTableAdminMixin, ObjectActionsMixin, AppendOnlyAdminMixin, HistoryAdmin):
    """Append-only evidence: read-only, no delete, and the Director's early purge. Lists stay fast at millions
    of rows (aura_project.admin_scale); each filter below reads a fixed set of values and has an index
    (0012_admin_indexes) that finds its rows newest first, so a rare value costs what a common one does."""

    actions = [purge_early]
    object_actions = ("purge_early",)
    danger_actions = frozenset({"purge_early"})
    change_form_template = "admin/aura/change_form.html"


@admin.register(AuditRecord)
class AuditRecordAdmin(EvidenceAdmin):
    list_display = ["report_id", "worker", "task", "outcome", "hallucinated", "scope_drift", "received_at"]
    list_filter = ["outcome", "hallucinated", "scope_drift", "format_violation"]
    search_fields = ["report_id", "worker__model_id", "task__task_id"]
    list_select_related = ["worker", "task"]
    date_hierarchy = "received_at"


@admin.register(Finding)
class FindingAdmin(LargeTableAdminMixin, AppendOnlyAdminMixin, RoleAccessMixin, ModelAdmin):
    """What each detector found in each report, enforced or only observed: evidence, read-only; it goes with its
    report when that is purged."""

    list_display = ["created_at", "worker", "task", "detector", "mode", "violation_type", "score", "incident_link"]
    search_fields = ["worker__model_id", "task__task_id"]
    list_select_related = ["worker", "task"]
    date_hierarchy = "created_at"

    @display(description="Incident")
    def incident_link(self, obj):
        if not obj.incident_id:
            return "–"
        link = reverse("admin:governance_incident_change", args=[obj.incident_id])
        return format_html('<a class="text-primary-600" href="{}">{}</a>', link, short_id(obj.incident_id))


@admin.register(Incident)
class IncidentAdmin(CsvExportMixin, EvidenceAdmin):
    """Incidents with their violation types, what became of them and their evidence as a readable list."""

    list_display = [
        "incident",
        "worker",
        "task",
        "violation",
        "severity",
        "state",
        "reported_at",
        "resolved_at",
    ]
    list_display_links = ["incident"]
    list_filter = ["status", ("severity", SeverityFilter)]
    search_fields = ["worker__model_id", "task__task_id", "report__report_id"]
    list_select_related = ["worker", "task"]
    date_hierarchy = "reported_at"
    actions = [place_hold, purge_early]
    object_actions = ("place_hold", "purge_early")
    export_columns = exports.INCIDENT_COLUMNS
    fieldsets = [
        (None, {"fields": ["id", "worker", "task", "state", "violation_list", "severity", "settings_version"]}),
        ("Evidence", {"fields": ["evidence_log"]}),
        ("Consequences", {"fields": ["action_list", "reported_at", "resolved_at", "actor_label"]}),
    ]
    change_form_after_template = None

    def get_queryset(self, request):
        # Two probes per listed row, on indexed foreign keys: held for review, and the latest action standing.
        pending = PendingSanction.objects.filter(incident=OuterRef("pk"), status=PendingSanction.Status.PENDING)
        standing = (
            DisciplinaryAction.objects.filter(incident=OuterRef("pk"), overturned_by__isnull=True)
            .exclude(action="OVERTURN")
            .order_by("-created_at", "-id")
            .values("action")[:1]
        )
        return super().get_queryset(request).annotate(pending_review=Exists(pending), standing=Subquery(standing))

    @display(description="Incident")
    def incident(self, obj):
        return short_id(obj.pk)

    @display(description="Violation")
    def violation(self, obj):
        return ", ".join(violation_types(obj)) or "–"

    @display(description="Status")
    def state(self, obj):
        pending, standing = getattr(obj, "pending_review", False), getattr(obj, "standing", None)
        return incident_status(obj, pending=pending, standing=standing)

    @display(description="Violations")
    def violation_list(self, obj):
        pairs = [pair for pair in (obj.violations or []) if isinstance(pair, list | tuple) and len(pair) == 2]
        return format_html_join(" ", "{}", ((_label(f"{kind} · severity {sev}", "warning"),) for kind, sev in pairs))

    @display(description="Log entries")
    def evidence_log(self, obj):
        return evidence_html(obj.evidence)

    @display(description="Disciplinary actions")
    def action_list(self, obj):
        rows = obj.actions.select_related("actor", "overturned_by__actor").order_by("created_at", "id")[:50]
        items = []
        for action in rows:
            link = reverse("admin:governance_disciplinaryaction_change", args=[action.pk])
            note = action_overturn_note(action)
            items.append((link, _action_badge(action), action.reason, note))
        if not items:
            return "None"
        return format_html(
            '<ul class="aura-actions flex flex-col gap-1">{}</ul>',
            format_html_join("", '<li><a href="{}">{}</a> {} <span class="text-base-500">{}</span></li>', items),
        )


def action_overturn_note(action: DisciplinaryAction) -> str:
    """ "overturned by director on 2026-05-01: reason", or "" while the action stands. Needs `overturned_by`
    selected with the action."""
    overturn = getattr(action, "overturned_by", None) if _has_overturn(action) else None
    if overturn is None:
        return ""
    who = overturn.actor.get_username() if overturn.actor_id and overturn.actor else overturn.actor_label or "?"
    when = timezone.localtime(overturn.created_at).strftime("%Y-%m-%d %H:%M")
    return f"overturned by {who} on {when}: {overturn.reason}"


def _has_overturn(action: DisciplinaryAction) -> bool:
    try:
        return action.overturned_by is not None
    except DisciplinaryAction.DoesNotExist:
        return False


def _action_badge(action: DisciplinaryAction):
    if _has_overturn(action):
        return format_html(
            "{} {}", _label(action.action, "", "Overturned"), _label("Overturned", "info", action_overturn_note(action))
        )
    return _label(action.action, ACTION_VARIANTS.get(action.action, ""))


@admin.register(DisciplinaryAction)
class DisciplinaryActionAdmin(CsvExportMixin, EvidenceAdmin):
    """Every action applied to a worker; an overturned one is marked so, with who overturned it and why."""

    list_display = [
        "created_at",
        "worker",
        "action_shown",
        "actor_kind",
        "who",
        "reason",
        "overturn",
        "incident_link",
        "effective_until",
    ]
    list_filter = ["action", "actor_kind"]
    search_fields = ["worker__model_id", "reason", "violation_type"]
    list_select_related = ["worker", "actor", "overturns", "overturned_by__actor"]
    date_hierarchy = "created_at"
    actions = [overturn_actions, purge_early]
    object_actions = ("overturn_actions", "purge_early")
    export_columns = exports.ACTION_COLUMNS
    fieldsets = [
        (None, {"fields": ["worker", "action_shown", "overturn", "reason", "violation_type", "incident"]}),
        ("Who and when", {"fields": ["actor_kind", "actor", "actor_label", "created_at", "effective_until"]}),
        ("Record", {"fields": ["policy_version", "overturns"]}),
    ]

    def object_action_applies(self, obj, name: str) -> bool:
        if name == "overturn_actions":
            return obj.action != "OVERTURN" and not DisciplinaryAction.objects.filter(overturns=obj).exists()
        return True

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:  # its overturn and who made it, in the same read as the page's other fields
            obj = self.model._default_manager.select_related("overturned_by__actor", "actor").filter(pk=obj.pk).first()
        return obj

    @display(description="Who")
    def who(self, obj):
        """The Director by name, or the key or component that acted (HR automation runs under the Manager's key)."""
        return obj.actor.get_username() if obj.actor_id else obj.actor_label or "–"

    @display(description="Action")
    def action_shown(self, obj):
        return _action_badge(obj)

    @display(description="Overturned")
    def overturn(self, obj):
        if obj.action == "OVERTURN" and obj.overturns_id:
            link = reverse("admin:governance_disciplinaryaction_change", args=[obj.overturns_id])
            return format_html('overturns <a class="text-primary-600" href="{}">{}</a>', link, obj.overturns.action)
        return action_overturn_note(obj) or "–"

    @display(description="Incident")
    def incident_link(self, obj):
        if not obj.incident_id:
            return "–"
        link = reverse("admin:governance_incident_change", args=[obj.incident_id])
        return format_html('<a class="text-primary-600" href="{}">{}</a>', link, short_id(obj.incident_id))


@admin.register(ScoreRecord)
class ScoreRecordAdmin(EvidenceAdmin):
    list_display = ["created_at", "worker", "score", "previous_reputation", "reputation", "applied_action"]
    list_filter = [("applied_action", AppliedActionFilter)]
    search_fields = ["worker__model_id", "run_key"]
    list_select_related = ["worker"]
    date_hierarchy = "created_at"


@admin.register(Penalty)
class PenaltyAdmin(EvidenceAdmin):
    list_display = ["created_at", "worker", "reason", "severity", "points", "incident"]
    list_filter = [("reason", ViolationTypeFilter), ("severity", SeverityFilter)]
    search_fields = ["worker__model_id", "reason"]
    list_select_related = ["worker", "incident"]
    date_hierarchy = "created_at"


# --- Settings and policies -----------------------------------------------------------------------------------


# Everything a Director sets as a plain value; version, created_at and created_by are the service's. The
# mappings (weights, penalty points, tier budgets, detector modes and thresholds, escalation minutes) are edited
# one field per key below, never as raw JSON.
MAPPING_FIELDS = ("weights", "penalty_points", "tier_budgets")
DETECTOR_MAPPINGS = ("detector_modes", "detector_thresholds", "escalation_minutes")
# Any other mapping (none today) has no form of its own: a new version carries it over from the one in force;
# its page shows it as a table and its diff lists its keys.
OTHER_MAPPINGS = tuple(
    f.name
    for f in GovernanceSettings._meta.concrete_fields
    if f.get_internal_type() == "JSONField" and f.name not in (*MAPPING_FIELDS, *DETECTOR_MAPPINGS)
)
SETTINGS_FIELDS = [
    f.name
    for f in GovernanceSettings._meta.concrete_fields
    if f.editable and f.name not in ("version", "created_by", *MAPPING_FIELDS, *DETECTOR_MAPPINGS, *OTHER_MAPPINGS)
]
WEIGHT_KEYS = list(scoring.DEFAULT_WEIGHTS)
POINT_KEYS = list(scoring.DEFAULT_PENALTY_POINTS)
BUDGET_KEYS = list(TIERS)
# The detectors the registry knows (one source for their names, modes and thresholds), and the tiers whose
# sanctions may wait for the Director.
DETECTOR_NAMES = list(REGISTRY)
TUNABLE_DETECTORS = [name for name, d in REGISTRY.items() if d.tunable]
MODE_CHOICES = [(mode.value, mode.value) for mode in Mode]


def _field_key(detector: str) -> str:
    """A detector's name as a form field's suffix: "scope.semantic" -> "scope_semantic"."""
    return detector.replace(".", "_")


# The form field that edits each key of each detector mapping.
KEYED_FIELDS = {
    "detector_modes": {name: f"mode_{_field_key(name)}" for name in DETECTOR_NAMES},
    "detector_thresholds": {name: f"threshold_{_field_key(name)}" for name in TUNABLE_DETECTORS},
    "escalation_minutes": {tier: f"escalation_{tier}" for tier in ESCALATION_TIERS},
}


def _names(row) -> tuple[str, ...]:
    return tuple(row) if isinstance(row, list | tuple) else (row,)


def _rows(names: list[str], per_row: int) -> list[tuple[str, ...]]:
    """Fieldset rows of `per_row` fields each: a label stays readable beside its input."""
    return [tuple(names[i : i + per_row]) for i in range(0, len(names), per_row)]


def _mapping_fields() -> dict[str, forms.Field]:
    """One form field per weight, penalty and tier budget: their keys come from the rules' own constants."""
    fields: dict[str, forms.Field] = {}
    for key in WEIGHT_KEYS:
        fields[f"weight_{key}"] = forms.DecimalField(
            label=key.capitalize(), min_value=0, max_value=1, decimal_places=4, widget=UnfoldAdminDecimalFieldWidget
        )
    for key in POINT_KEYS:
        fields[f"points_{key}"] = forms.IntegerField(
            label=key.replace("_", " ").capitalize(), max_value=0, widget=UnfoldAdminIntegerFieldWidget
        )
    for key in BUDGET_KEYS:
        fields[f"budget_{key}"] = forms.IntegerField(
            label=key.capitalize(), min_value=0, widget=UnfoldAdminIntegerFieldWidget
        )
    # Detectors and escalation: the bounds are the settings service's (settings_problems), shown on the field.
    for name, field in KEYED_FIELDS["detector_modes"].items():
        detector = REGISTRY[name]
        fields[field] = forms.ChoiceField(
            label=f"{name}: mode",
            choices=MODE_CHOICES,
            help_text=f"{detector.description} Default: {detector.default_mode.value}.",
            widget=UnfoldAdminSelectWidget,
        )
    for name, field in KEYED_FIELDS["detector_thresholds"].items():
        fields[field] = forms.FloatField(
            label=f"{name}: threshold",
            help_text=f"Default: {REGISTRY[name].default_threshold:g}.",
            widget=UnfoldAdminDecimalFieldWidget,
        )
    for tier, field in KEYED_FIELDS["escalation_minutes"].items():
        fields[field] = forms.IntegerField(
            label=f"{tier.capitalize()} (minutes)",
            help_text="0: the sanction applies at once.",
            widget=UnfoldAdminIntegerFieldWidget,
        )
    return fields


def _detector_values(version: GovernanceSettings) -> dict[str, dict]:
    """A version's detector modes and thresholds and escalation minutes as they apply: every registered detector
    and escalated tier, the Director's choice or else the default (the stored mappings name only the choices)."""
    setup = detector_setup(version)
    escalation = version.escalation_minutes or {}
    return {
        "detector_modes": {**(version.detector_modes or {}), **{n: setup.mode(n).value for n in DETECTOR_NAMES}},
        "detector_thresholds": {
            **(version.detector_thresholds or {}),
            **{n: setup.config(n).threshold for n in TUNABLE_DETECTORS},
        },
        "escalation_minutes": {**escalation, **{tier: escalation.get(tier) or 0 for tier in ESCALATION_TIERS}},
    }


class _SettingsFormBase(forms.ModelForm):
    """A new settings version: each weight, penalty and budget its own field, and the reason for the change."""

    note = forms.CharField(
        label="Reason",
        max_length=300,
        help_text="Why this version: kept with it, and on its history.",
        widget=UnfoldAdminTextInputWidget,
    )

    class Meta:
        model = GovernanceSettings
        fields = SETTINGS_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A new version starts from the one in force; its keys beyond the rules' (an older violation type's
        # points) are carried over as they are.
        self.source = self.instance if self.instance.pk else settings_current()
        if not self.instance.pk:
            # A value the form does not show (a field added later) is carried over from the version in force,
            # never reset to the model's default.
            for field in GovernanceSettings._meta.concrete_fields:
                if field.name not in ("version", "created_by", "created_at", "note"):
                    setattr(self.instance, field.attname, getattr(self.source, field.attname))
        for prefix, mapping, keys in self._mapping_sources():
            for key in keys:
                self.initial.setdefault(f"{prefix}_{key}", mapping.get(key))
        for name, values in _detector_values(self.source).items():
            for key, field in KEYED_FIELDS[name].items():
                self.initial.setdefault(field, values.get(key))

    def _mapping_sources(self):
        return [
            ("weight", self.source.weights or {}, WEIGHT_KEYS),
            ("points", self.source.penalty_points or {}, POINT_KEYS),
            ("budget", self.source.tier_budgets or {}, BUDGET_KEYS),
        ]

    def mappings(self, cleaned: dict) -> dict[str, dict]:
        """The three mappings from their fields."""
        weights = {key: cleaned.get(f"weight_{key}") for key in WEIGHT_KEYS}
        before = self.source.weights or {}
        return {
            "weights": {key: _weight_text(w, before.get(key)) for key, w in weights.items()},
            "penalty_points": {
                **(self.source.penalty_points or {}),
                **{key: cleaned.get(f"points_{key}") for key in POINT_KEYS},
            },
            "tier_budgets": {key: cleaned.get(f"budget_{key}") for key in BUDGET_KEYS},
            **self.detector_mappings(cleaned),
        }

    def detector_mappings(self, cleaned: dict) -> dict[str, dict]:
        """The detector modes and thresholds and the escalation minutes from their fields. Only a value the
        Director moved is written into the version in force's mapping, so a default stays a default (a new
        registry default applies to it) and the diff shows what the Director changed."""
        applied = _detector_values(self.source)
        result = {}
        for name, fields in KEYED_FIELDS.items():
            mapping = dict(getattr(self.source, name) or {})
            for key, field in fields.items():
                value = cleaned.get(field)
                if value is not None and value != applied[name].get(key):
                    mapping[key] = value
            result[name] = mapping
        return result

    def clean(self):
        cleaned = super().clean()
        mappings = self.mappings(cleaned)
        for name, value in mappings.items():
            setattr(self.instance, name, value)
        first_field = {"weights": "weight_", "penalty_points": "points_", "tier_budgets": "budget_"}
        for field, message in settings_problems({**cleaned, **mappings}).items():
            if field in first_field:
                if not any(name.startswith(first_field[field]) for name in self.errors):
                    self.add_error(None, f"{field.replace('_', ' ').capitalize()}: {message}")
            elif field in KEYED_FIELDS:
                self._keyed_errors(field, mappings[field], message)
            elif field not in self.errors:
                self.add_error(field if field in self.fields else None, message)
        return cleaned

    def _keyed_errors(self, name: str, mapping: dict, message: str) -> None:
        """A detector mapping's problem on the field of each key that has it, asked of the same service one key
        at a time; on the form when no one key has it."""
        placed = False
        for key, field in KEYED_FIELDS[name].items():
            if key in mapping and (problem := settings_problems({name: {key: mapping[key]}}).get(name)):
                placed = True
                if field not in self.errors:
                    self.add_error(field, problem)
        if not placed:
            self.add_error(None, f"{name.replace('_', ' ').capitalize()}: {message}")


def _weight_text(value, before) -> str | None:
    """A weight as the settings store it (a decimal string); an unchanged one keeps its old spelling, so a
    version's diff shows only the weights the Director moved."""
    if value is None:
        return None
    try:
        if before is not None and Decimal(str(before)) == value:
            return str(before)
    except InvalidOperation:
        pass
    return str(value.normalize())


# Declared on the class (not added per form) so the admin's form factory knows the fieldsets' names.
GovernanceSettingsForm = type("GovernanceSettingsForm", (_SettingsFormBase,), _mapping_fields())


def _detector_row(name: str) -> tuple[str, ...]:
    """A detector's mode beside its threshold: its own (detector_thresholds) or a settings field (timeout_ms)."""
    detector, mode = REGISTRY[name], KEYED_FIELDS["detector_modes"][name]
    threshold = KEYED_FIELDS["detector_thresholds"].get(name) or detector.threshold_field
    return (mode, threshold) if threshold else (mode,)


DETECTOR_ROWS = [*(_detector_row(name) for name in DETECTOR_NAMES), "evidence_entries"]


@admin.register(GovernanceSettings)
class GovernanceSettingsAdmin(AppendOnlyAdminMixin, HistoryAdmin):
    """Every version stays as it was: decisions name the version they used. The Director publishes a new one
    from the add form, which starts from the version in force and needs a reason; a version's page shows what
    changed against the version before it."""

    form = GovernanceSettingsForm
    list_display = [
        "version",
        "created_at",
        "created_by",
        "note",
        "promotion_threshold",
        "warning_threshold",
        "termination_threshold",
        "retention_days",
    ]
    list_select_related = ["created_by"]
    date_hierarchy = "created_at"
    fieldsets = [
        (None, {"fields": ["note"]}),
        ("Score weights (add up to 1)", {"fields": _rows([f"weight_{key}" for key in WEIGHT_KEYS], 3)}),
        ("Penalty points (zero or negative)", {"fields": _rows([f"points_{key}" for key in POINT_KEYS], 2)}),
        ("Tier budgets", {"fields": _rows([f"budget_{key}" for key in BUDGET_KEYS], 2)}),
        (
            "Accountant",
            {
                "fields": [
                    ("promotion_threshold", "warning_threshold", "termination_threshold"),
                    ("reputation_new_weight_pct", "min_runs_for_promotion"),
                    ("provisional_runs", "probation_clean_runs"),
                    ("scoring_window_days", "scoring_window_cap"),
                ]
            },
        ),
        (
            "Auditor: detectors (enforce: findings sanction; observe: recorded only; off: not run)",
            {"fields": DETECTOR_ROWS},
        ),
        (
            "The auditors audited: an enforce-mode detector overturned too often is switched to observe",
            {"fields": [("overturn_observe_pct", "overturn_observe_min_sanctions", "overturn_window_days")]},
        ),
        (
            "Senior escalation: a senior's sanction waits this long for the Director",
            {"fields": [tuple(KEYED_FIELDS["escalation_minutes"].values())]},
        ),
        (
            "HR",
            {
                "fields": [
                    ("repeat_window_days", "repeat_terminate_count"),
                    ("strikes_to_terminate", "strike_active_days", "warning_active_days"),
                    ("suspension_hours", "cooldown_minutes"),
                ]
            },
        ),
        (
            "Routing health and timers",
            {
                "fields": [
                    ("provider_fault_limit", "provider_fault_window_seconds", "provider_cooldown_seconds"),
                    "silent_timeout_minutes",
                ]
            },
        ),
        ("Retention", {"fields": ["retention_days"]}),
    ]

    def has_add_permission(self, request) -> bool:
        return self._may_act(request)

    def get_urls(self):
        switch = path(
            "detectors/<str:name>/mode/",
            self.admin_site.admin_view(self.detector_mode_view),
            name="governance_governancesettings_detector_mode",
        )
        return [switch, *super().get_urls()]

    def detector_mode_view(self, request, name: str):
        """The Director's quick switch of one detector's mode, from the dashboard's detectors card: a mode, a
        reason and a confirmation, then the service the API and the oversight use (a new settings version, and
        the Manager's inbox told)."""
        if not self.has_director_permission(request):
            raise PermissionDenied
        detector = REGISTRY.get(name)
        if detector is None:
            raise Http404(f"No detector {name!r}.")
        current = detector_setup(settings_current()).mode(name).value
        if request.method == "POST" and APPLY in request.POST:
            form = DetectorModeForm(request.POST)
            if form.is_valid():
                try:
                    change = detector_mode_set(
                        name=name,
                        mode=form.cleaned_data["mode"],
                        reason=form.cleaned_data["reason"],
                        actor=request.user,
                        now=timezone.now(),
                    )
                except DomainError as exc:
                    self.message_user(request, f"Refused: {exc.message}", messages.ERROR)
                else:
                    if change.changed:
                        self.message_user(
                            request,
                            f"{name}: {change.before} -> {change.mode}; settings version {change.settings.version} "
                            "published and the Manager's inbox told.",
                            messages.SUCCESS,
                        )
                    else:
                        self.message_user(
                            request, f"{name} is already in {change.mode} mode: nothing published.", messages.WARNING
                        )
                return HttpResponseRedirect(reverse("admin:index"))
        else:
            form = DetectorModeForm(initial={"mode": current})
        context = {
            **self.admin_site.each_context(request),
            "title": f"Change the mode of {name}",
            "intro": (
                f"{detector.description} Now: {current} (default {detector.default_mode.value}). Enforce: its "
                "findings are violations and go to HR. Observe: they are recorded and counted, and sanction nobody. "
                "Off: it does not run. A new settings version names you and your reason; the Manager's inbox is told."
            ),
            "danger": "",
            "opts": self.model._meta,
            "queryset": [],
            "form": form,
            "action": "",
            "submit": "Change the mode",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/aura/action_form.html", context)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            placed = {name for _, options in self.fieldsets for row in options["fields"] for name in _names(row)}
            others = [name for name in SETTINGS_FIELDS if name not in placed]
            return [*self.fieldsets, ("Other", {"fields": others})] if others else self.fieldsets
        # A published version, to read: what changed first, then every value, the mappings as tables.
        plain = [name for name in SETTINGS_FIELDS if name != "note"]
        return [
            (None, {"fields": ["version", "created_at", "created_by", "note"]}),
            ("Changes from the previous version", {"fields": ["changes"]}),
            (
                "Mappings",
                {
                    "fields": [
                        "weights_table",
                        "penalty_points_table",
                        "tier_budgets_table",
                        "detectors_table",
                        "escalation_table",
                        "other_tables",
                    ]
                },
            ),
            ("Values", {"fields": plain}),
        ]

    def get_readonly_fields(self, request, obj=None):
        return ["version", "created_at", "created_by"] if obj is not None else []

    def get_changeform_initial_data(self, request):
        current = settings_current()
        initial = {f.name: getattr(current, f.name) for f in GovernanceSettings._meta.concrete_fields}
        for name in ("version", "created_by", "created_at", "note"):
            initial.pop(name, None)
        for key in WEIGHT_KEYS:
            initial[f"weight_{key}"] = current.weights.get(key)
        for key in POINT_KEYS:
            initial[f"points_{key}"] = current.penalty_points.get(key)
        for key in BUDGET_KEYS:
            initial[f"budget_{key}"] = current.tier_budgets.get(key)
        return initial

    def save_model(self, request, obj, form, change):
        # Only ever an add (nobody may change a version); the service stores it as a new row, and tells the
        # Manager's inbox of each detector mode it changes.
        detector_settings_publish(draft=obj, note=form.cleaned_data["note"], actor=request.user, now=timezone.now())

    @display(description="What changed")
    def changes(self, obj):
        previous = GovernanceSettings.objects.filter(version__lt=obj.version).order_by("-version").first()
        rows = changes_between(_settings_values(previous) if previous else None, _settings_values(obj))
        if previous is None:
            return "The first version: nothing to compare with."
        if not rows:
            return format_html(
                "No value changed against version {} (a policy edit publishes a version too; see the reason).",
                previous.version,
            )
        return format_html(
            '<table class="aura-diff text-sm"><thead><tr class="text-left text-base-500"><th class="pr-6">Field</th>'
            '<th class="pr-6">Version {}</th><th>This version</th></tr></thead><tbody>{}</tbody></table>',
            previous.version,
            format_html_join(
                "",
                '<tr class="border-t border-base-200 dark:border-base-800"><td class="pr-6 font-mono">{}</td>'
                '<td class="pr-6 text-red-700 dark:text-red-400">{}</td>'
                '<td class="text-green-700 dark:text-green-400">{}</td></tr>',
                ((row.field, "–" if row.old is None else row.old, "–" if row.new is None else row.new) for row in rows),
            ),
        )

    @display(description="Score weights")
    def weights_table(self, obj):
        return _mapping_table(obj.weights)

    @display(description="Penalty points")
    def penalty_points_table(self, obj):
        return _mapping_table(obj.penalty_points)

    @display(description="Tier budgets")
    def tier_budgets_table(self, obj):
        return _mapping_table(obj.tier_budgets)

    @display(description="Detectors")
    def detectors_table(self, obj):
        """Every registered detector's mode and threshold in this version, the defaults marked as such."""
        setup = detector_setup(obj)
        chosen_modes, chosen_thresholds = obj.detector_modes or {}, obj.detector_thresholds or {}
        rows = []
        for name, detector in REGISTRY.items():
            threshold = setup.config(name).threshold
            if detector.threshold_field:
                shown = f"{threshold:g} ({detector.threshold_field})" if threshold is not None else "–"
            elif threshold is not None:
                shown = f"{threshold:g}" + ("" if name in chosen_thresholds else " (default)")
            else:
                shown = "–"
            mode = setup.mode(name).value + ("" if name in chosen_modes else " (default)")
            rows.append((name, mode, shown))
        return format_html(
            '<table class="aura-detectors text-sm"><thead><tr class="text-left text-base-500"><th class="pr-6">'
            'Detector</th><th class="pr-6">Mode</th><th>Threshold</th></tr></thead><tbody>{}</tbody></table>',
            format_html_join(
                "", '<tr><td class="pr-6 font-mono">{}</td><td class="pr-6">{}</td><td>{}</td></tr>', rows
            ),
        )

    @display(description="Escalation minutes")
    def escalation_table(self, obj):
        values = _detector_values(obj)["escalation_minutes"]
        return _mapping_table({tier: f"{m} min" if m else "0 (applies at once)" for tier, m in values.items()})

    @display(description="Other settings")
    def other_tables(self, obj):
        if not OTHER_MAPPINGS:
            return "–"
        return format_html_join(
            "",
            '<div class="mb-2"><div class="font-semibold">{}</div>{}</div>',
            ((name.replace("_", " ").capitalize(), _mapping_table(getattr(obj, name))) for name in OTHER_MAPPINGS),
        )


def _settings_values(version: GovernanceSettings) -> dict:
    """A version's values for the diff; the detector mappings as they apply (a default made explicit is no
    change, and a detector's mode reads "observe", not "–")."""
    names = [*SETTINGS_FIELDS, *MAPPING_FIELDS, *OTHER_MAPPINGS]
    return {**{name: getattr(version, name) for name in names if name != "note"}, **_detector_values(version)}


def _mapping_table(mapping) -> str:
    if mapping is not None and not isinstance(mapping, dict):
        return format_html('<span class="font-mono">{}</span>', mapping)
    return format_html(
        '<table class="aura-mapping text-sm"><tbody>{}</tbody></table>',
        format_html_join(
            "",
            '<tr><td class="pr-6 text-base-500">{}</td><td>{}</td></tr>',
            ((k, v) for k, v in (mapping or {}).items()),
        ),
    )


class DetectorModeForm(ReasonForm):
    mode = forms.ChoiceField(choices=MODE_CHOICES, widget=UnfoldAdminSelectWidget)
    confirm = forms.BooleanField(label="Publish a new settings version with this mode", widget=UnfoldBooleanWidget)

    field_order = ["mode", "reason", "confirm"]


class PolicyForm(forms.ModelForm):
    reason = forms.CharField(
        max_length=200,
        help_text="Why this change: kept on the policy's history and on the settings version it publishes.",
        widget=UnfoldAdminTextInputWidget,
    )

    class Meta:
        model = Policy
        fields = ["violation_type", "severity", "action", "description", "active"]

    def clean(self):
        cleaned = super().clean()
        problems = policy_problems(severity=cleaned.get("severity"), action=cleaned.get("action"))
        for field, message in problems.items():
            if field not in self.errors:
                self.add_error(field, message)
        return cleaned


@admin.register(Policy)
class PolicyAdmin(HistoryAdmin):
    """HR's written policy. The Director edits it here through the policy service, which keeps each save in
    the policy's history and publishes a new settings version, so decisions before and after an edit name
    different versions. Policies are not added or deleted here: a violation type is the detector's, not the
    admin's."""

    form = PolicyForm
    list_display = ["violation_type", "severity", "action", "active", "description"]
    list_filter = ["action", "active", "severity"]
    search_fields = ["violation_type", "description"]
    readonly_fields = ["violation_type"]
    fields = ["violation_type", "severity", "action", "description", "active", "reason"]

    def has_add_permission(self, request) -> bool:
        return False

    def get_fields(self, request, obj=None):
        # The reason is asked of whoever may change the policy; a reader sees the policy alone.
        fields = super().get_fields(request, obj)
        return fields if self.has_change_permission(request, obj) else [f for f in fields if f != "reason"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj, form, change):
        # Only ever a change (no add here); the service saves the row and publishes the version.
        data = form.cleaned_data
        policy_update(
            policy=obj,
            severity=data["severity"],
            action=data["action"],
            description=data.get("description", ""),
            active=data["active"],
            actor=request.user,
            now=timezone.now(),
            reason=data["reason"],
        )


# --- Runs, holds and purges ----------------------------------------------------------------------------------


@admin.register(AuditRun)
class AuditRunAdmin(ViewOnlyAdminMixin, RoleAccessMixin, ModelAdmin):
    list_display = ["id", "status", "total", "processed", "submitted_by", "created_at", "finished_at"]
    list_filter = ["status"]
    search_fields = ["submitted_by"]
    date_hierarchy = "created_at"


@admin.register(AuditRunItem)
class AuditRunItemAdmin(InternalTableMixin, ViewOnlyAdminMixin, RoleAccessMixin, ModelAdmin):
    list_display = ["run", "position", "status"]
    list_filter = ["status"]
    list_select_related = ["run"]


@admin.register(CommandRecord)
class CommandRecordAdmin(InternalTableMixin, ViewOnlyAdminMixin, RoleAccessMixin, ModelAdmin):
    """The stored answers that make a retried command (Idempotency-Key) change nothing."""

    list_display = ["key", "status_code", "created_at"]
    search_fields = ["key"]
    date_hierarchy = "created_at"
    # The retention purge deletes these; a row deleted here would let a late retry apply a command twice.
    show_full_result_count = False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ScoringRun)
class ScoringRunAdmin(ViewOnlyAdminMixin, RoleAccessMixin, ModelAdmin):
    """Scoring runs, and the Director's "Score workers now" button: a run needs no chosen rows, so it is a
    POST from the list's tools rather than an action on selected runs."""

    list_display = ["key", "trigger", "status", "window_end", "workers_scored", "created_at", "finished_at"]
    list_filter = ["status", "trigger"]
    search_fields = ["key"]
    date_hierarchy = "created_at"

    def get_urls(self):
        start = path("start/", self.admin_site.admin_view(self.start_view), name="governance_scoringrun_start")
        return [start, *super().get_urls()]

    change_list_template = "admin/aura/tools_change_list.html"

    def changelist_view(self, request, extra_context=None):
        tools = [score_now_tool()] if self.has_director_permission(request) else []
        return super().changelist_view(request, {**(extra_context or {}), "list_tools": tools})

    def start_view(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_director_permission(request):
            raise PermissionDenied
        run, created = scoring_run_start(trigger=ScoringRun.Trigger.DIRECTOR, now=timezone.now(), actor=request.user)
        if created:
            self.message_user(
                request, f"Scoring run {run.key} queued; it scores every worker with new evidence.", messages.SUCCESS
            )
        else:
            self.message_user(request, f"Scoring run {run.key} was already started.", messages.WARNING)
        return HttpResponseRedirect(reverse("admin:governance_scoringrun_changelist"))


@admin.register(Hold)
class HoldAdmin(ViewOnlyAdminMixin, RoleAccessMixin, ModelAdmin):
    """Holds are placed from a worker's or an incident's page (or list) and lifted here."""

    list_display = [
        "kind",
        "worker",
        "incident",
        "reason",
        "created_by",
        "created_at",
        "lifted_by",
        "lifted_at",
        "lift_reason",
    ]
    list_filter = ["kind", "lifted_at"]
    search_fields = ["worker__model_id", "reason"]
    list_select_related = ["worker", "incident", "created_by", "lifted_by"]
    date_hierarchy = "created_at"
    actions = [lift_holds]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a hold is lifted, not deleted, so the purge's exemptions stay explained


@admin.register(PurgeLog)
class PurgeLogAdmin(AppendOnlyAdminMixin, RoleAccessMixin, ModelAdmin):
    """The record of what each purge deleted: it outlives the rows it names."""

    list_display = ["started_at", "actor_kind", "actor", "reason", "cutoff", "dry_run", "finished_at"]
    list_filter = ["actor_kind", "dry_run"]
    search_fields = ["reason"]
    list_select_related = ["actor"]
    date_hierarchy = "started_at"


@admin.register(PurgePermit)
class PurgePermitAdmin(InternalTableMixin, ViewOnlyAdminMixin, RoleAccessMixin, ModelAdmin):
    """A permit lives only inside a purge's transaction; one listed here was committed and licenses every
    delete of evidence. The Director may delete it, never create one."""

    list_display = ["id", "reason", "created_at"]


# --- The spike guard's review queue --------------------------------------------------------------------------


def _review(decision: str, verb: str, description: str, intro: str):
    """An admin action confirming or dismissing each chosen held sanction."""

    def review(modeladmin, request, queryset):
        answer = _intermediate(
            modeladmin,
            request,
            queryset,
            action=review.__name__,
            form_class=ReasonForm,
            title=description,
            submit=description,
            intro=intro,
        )
        if not isinstance(answer, dict):
            return answer
        now = timezone.now()
        _apply_each(
            modeladmin,
            request,
            queryset.order_by("pk"),
            lambda held: sanction_review(
                sanction=held, decision=decision, reason=answer["reason"], actor=request.user, now=now
            ),
            verb=verb,
            noun="held sanction",
        )
        return None

    review.__name__ = f"{decision}_sanctions"
    return admin.action(description=description, permissions=["director"])(review)


confirm_sanctions = _review(
    CONFIRM,
    "Confirmed",
    "Confirm held sanctions",
    "Each sanction is applied now, naming you and your reason, as if it had not been held (by the spike guard, or "
    "for a senior worker's escalation).",
)
dismiss_sanctions = _review(
    DISMISS,
    "Dismissed",
    "Dismiss held sanctions",
    "Each sanction is dropped: the worker stays as it is (a senior's escalation no longer applies itself). The "
    "incident and its evidence stay on the record.",
)


@admin.register(PendingSanction)
class PendingSanctionAdmin(ViewOnlyAdminMixin, HistoryAdmin):
    """Suspensions, terminations and blacklistings held for the Director, with their evidence: by the spike
    guard (held until answered), or a senior's escalation (it applies itself at its deadline if nobody answers).
    Confirm and dismiss work on both, through the same service."""

    list_display = [
        "created_at",
        "worker",
        "action",
        "held_as",
        "status",
        "deadline",
        "violation_type",
        "reason",
        "spike",
        "decided_by",
    ]
    list_filter = ["status", "kind", "action"]
    search_fields = ["worker__model_id", "reason"]
    list_select_related = ["worker", "spike", "decided_by", "incident"]
    actions = [confirm_sanctions, dismiss_sanctions]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @display(description="Held as", ordering="kind")
    def held_as(self, obj):
        if obj.kind == PendingSanction.Kind.ESCALATION:
            return _label("Senior escalation", "warning", "Applies itself at its deadline unless you answer.")
        return _label("Spike hold", "info", "Held by the spike guard until you answer.")

    @display(description="Applies itself at", ordering="apply_at")
    def deadline(self, obj):
        if obj.apply_at is None:
            return "–"
        at = timezone.localtime(obj.apply_at).strftime("%Y-%m-%d %H:%M")
        return format_html('<span class="aura-deadline whitespace-nowrap" title="{}">{}</span>', obj.apply_at, at)


@admin.register(Spike)
class SpikeAdmin(ViewOnlyAdminMixin, RoleAccessMixin, ModelAdmin):
    """Each spike the guard saw: its scope, figures and how many sanctions it held."""

    list_display = ["started_at", "scope", "figures", "held", "last_seen_at", "settings_version"]
    search_fields = ["scope"]


# --- Workers, governed ---------------------------------------------------------------------------------------

admin.site.unregister(Worker)

RECORD_LIMIT = 20  # rows of each section on the worker's page; "see all" opens the filtered list


@admin.register(Worker)
class WorkerAdmin(ObjectActionsMixin, workforce_admin.WorkerAdmin):
    """The Worker page: standing and reputation chart, the disciplinary record as a timeline, incidents with
    their evidence, holds, assignments and history; the Director's interventions and holds above it. The
    fleet's reputations and statuses above the list."""

    change_form_template = "admin/workforce/worker/change_form.html"
    change_list_template = "admin/aura/tools_change_list.html"
    list_before_template = "admin/workforce/worker/fleet_charts.html"
    actions = [worker_suspend, worker_reinstate, worker_terminate, worker_blacklist, worker_rehire, place_hold]
    object_actions = (
        "worker_suspend",
        "worker_reinstate",
        "worker_terminate",
        "worker_blacklist",
        "worker_rehire",
        "place_hold",
    )
    danger_actions = frozenset({"worker_terminate", "worker_blacklist"})

    def object_action_applies(self, obj, name: str) -> bool:
        action = INTERVENTION_ACTIONS.get(name)
        return action is None or intervention_problem(worker_state(obj), action) is None

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        worker = self.get_object(request, unquote(object_id))
        if worker is not None:
            extra_context.update(worker_page(worker, now=timezone.now()))
        return super().change_view(request, object_id, form_url, extra_context)

    def changelist_view(self, request, extra_context=None):
        # Two grouped queries whatever the fleet's size: at most 101 reputations and 6 statuses come back.
        fleet = Worker.objects.order_by()
        by_reputation = dict(fleet.values_list("reputation").annotate(n=Count("pk")))
        by_status = dict(fleet.values_list("status").annotate(n=Count("pk")))
        tools = []
        if self.has_director_permission(request):
            tools.append(score_now_tool())
        extra_context = {
            **(extra_context or {}),
            "list_tools": tools,
            "reputation_histogram": charts.as_json(
                charts.bar_chart(charts.reputation_buckets(by_reputation), label="Workers")
            ),
            "status_chart": charts.as_json(
                charts.bar_chart(
                    [(label, by_status.get(value, 0)) for value, label in Worker.Status.choices], label="Workers"
                )
            ),
        }
        return super().changelist_view(request, extra_context)


def score_now_tool() -> dict:
    return {"title": "Score workers now", "link": reverse("admin:governance_scoringrun_start"), "post": True}


def worker_page(worker: Worker, *, now) -> dict:
    """What the worker's page shows besides its fields, each section bounded to its newest RECORD_LIMIT rows
    and read with the rows it links to (one query a section)."""
    settings = settings_current()
    # Newest first on the (worker, created_at) index, then drawn oldest first.
    trend = list(
        ScoreRecord.objects.filter(worker=worker)
        .order_by("-created_at", "-id")
        .values_list("reputation", "created_at")[:TREND_POINTS]
    )[::-1]
    actions = list(
        DisciplinaryAction.objects.filter(worker=worker)
        .select_related("actor", "incident", "overturned_by__actor", "overturns")
        .order_by("-created_at", "-id")[:RECORD_LIMIT]
    )
    incidents = list(
        Incident.objects.filter(worker=worker).select_related("task").order_by("-reported_at", "-id")[:RECORD_LIMIT]
    )
    holds = list(
        Hold.objects.filter(worker=worker)
        .select_related("created_by", "lifted_by")
        .order_by("-created_at", "-id")[:RECORD_LIMIT]
    )
    assignments = list(worker.assignments.select_related("task").order_by("-started_at", "-id")[:RECORD_LIMIT])
    history = list(worker.history.select_related("history_user").order_by("-history_date")[:RECORD_LIMIT])
    see_all = {
        "actions": reverse("admin:governance_disciplinaryaction_changelist") + f"?worker__id__exact={worker.pk}",
        "incidents": reverse("admin:governance_incident_changelist") + f"?worker__id__exact={worker.pk}",
        "holds": reverse("admin:governance_hold_changelist") + f"?worker__id__exact={worker.pk}",
        "assignments": reverse("admin:workforce_assignment_changelist") + f"?worker__id__exact={worker.pk}",
        "history": reverse("admin:workforce_worker_history", args=[worker.pk]),
    }
    return {
        "reputation_points": len(trend),
        "standing": worker_standing(worker=worker, now=now, s=settings),
        "reputation_chart": charts.as_json(
            charts.reputation_line(
                [reputation for reputation, _ in trend],
                labels=[f"{timezone.localtime(at):%Y-%m-%d %H:%M}" for _, at in trend],
                guides=[
                    ("promotion", settings.promotion_threshold),
                    ("warning", settings.warning_threshold),
                    ("termination", settings.termination_threshold),
                ],
            )
        ),
        "timeline": [
            {
                "action": action,
                "badge": _action_badge(action),
                "overturn_note": action_overturn_note(action),
                "actor": action.actor.get_username() if action.actor else action.actor_label or action.actor_kind,
                "link": reverse("admin:governance_disciplinaryaction_change", args=[action.pk]),
                "incident_link": (
                    reverse("admin:governance_incident_change", args=[action.incident_id]) if action.incident_id else ""
                ),
                "incident_id": short_id(action.incident_id) if action.incident_id else "",
            }
            for action in actions
        ],
        "incidents": [
            {
                "incident": incident,
                "id": short_id(incident.pk),
                "link": reverse("admin:governance_incident_change", args=[incident.pk]),
                "types": ", ".join(violation_types(incident)),
                "evidence": evidence_html(incident.evidence),
            }
            for incident in incidents
        ],
        "holds": holds,
        "assignments": assignments,
        "history": history,
        "see_all": see_all,
        "record_limit": RECORD_LIMIT,
    }


# --- The system mode: the emergency halt and the resume ------------------------------------------------------


@admin.register(SystemMode)
class SystemModeAdmin(ViewOnlyAdminMixin, HistoryAdmin):
    """The fleet's mode and, in its history, every halt and resume with who and why. The Director halts or
    resumes from the list's button: a reason, a confirmation, then workforce.services.system, which tells the
    Manager's inbox. Not a change of the row here: the service is the only writer."""

    list_display = ["mode", "changed_at", "changed_by", "actor_label", "reason"]
    list_select_related = ["changed_by"]
    change_list_template = "admin/aura/tools_change_list.html"

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        urls = [
            path("halt/", self.admin_site.admin_view(self.halt_view), name="workforce_systemmode_halt"),
            path("resume/", self.admin_site.admin_view(self.resume_view), name="workforce_systemmode_resume"),
        ]
        return [*urls, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        tools = []
        if self.has_director_permission(request):
            if system_mode().halted:
                tools.append({"title": "Resume the fleet", "link": reverse("admin:workforce_systemmode_resume")})
            else:
                tools.append({"title": "Emergency halt", "link": reverse("admin:workforce_systemmode_halt")})
        return super().changelist_view(request, {**(extra_context or {}), "list_tools": tools})

    def halt_view(self, request):
        return self._mode_view(
            request,
            call=system_halt,
            title="Emergency halt",
            intro=(
                "Nobody is routed or assigned until you resume: routing answers nobody and assignments are refused "
                "with your reason, while reports, incidents and actions are still recorded. The Manager's inbox is "
                "told."
            ),
            danger="Every worker stops receiving tasks now.",
            done="The fleet is halted.",
        )

    def resume_view(self, request):
        return self._mode_view(
            request,
            call=system_resume,
            title="Resume the fleet",
            intro="Routing and assignment work again; the tasks that went waiting during the halt are routed now.",
            danger="",
            done="The fleet is running again.",
        )

    def _mode_view(self, request, *, call, title: str, intro: str, danger: str, done: str):
        if not self.has_director_permission(request):
            raise PermissionDenied
        if request.method == "POST" and APPLY in request.POST:
            form = ReasonForm(request.POST)
            if form.is_valid():
                try:
                    call(reason=form.cleaned_data["reason"], actor=request.user, now=timezone.now())
                except DomainError as exc:
                    self.message_user(request, f"Refused: {exc.message}", messages.ERROR)
                else:
                    self.message_user(request, done, messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:workforce_systemmode_changelist"))
        answer = _intermediate(
            self,
            request,
            SystemMode.objects.none(),  # nothing is chosen: the page is about the whole fleet
            action="",
            form_class=ReasonForm,
            title=title,
            submit=title,
            intro=intro,
            danger=danger,
        )
        return answer if not isinstance(answer, dict) else HttpResponseRedirect(request.path)


# --- Bookkeeping the dashboard reads (internal) -------------------------------------------------------------


@admin.register(BeatJobRun)
class BeatJobRunAdmin(InternalTableMixin, ViewOnlyAdminMixin, RoleAccessMixin, ModelAdmin):
    list_display = ["name", "last_success_at", "actor_label"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(IncidentDayCount)
class IncidentDayCountAdmin(InternalTableMixin, ViewOnlyAdminMixin, RoleAccessMixin, ModelAdmin):
    list_display = ["day", "violation_type", "incidents", "computed_at"]
    list_filter = ["violation_type"]
    date_hierarchy = "day"

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# --- Tasks: the Director's force-reassign and assign-to-a-chosen-worker --------------------------------------


class ReassignForm(ReasonForm):
    model_id = forms.CharField(
        required=False,
        max_length=200,
        label="To worker (model id)",
        help_text="Leave empty and routing chooses the best eligible other worker.",
        widget=UnfoldAdminTextInputWidget,
    )

    field_order = ["model_id", "reason"]


class AssignForm(ReasonForm):
    model_id = forms.CharField(
        max_length=200,
        label="To worker (model id)",
        help_text="The worker must be in service, have the capability and not have failed this task before.",
        widget=UnfoldAdminTextInputWidget,
    )

    field_order = ["model_id", "reason"]


@admin.action(description="Force-reassign", permissions=["director"])
def task_force_reassign(modeladmin, request, queryset):
    """Take each chosen task from its worker and give it to a named or the best eligible other worker."""
    answer = _intermediate(
        modeladmin,
        request,
        queryset,
        action="task_force_reassign",
        form_class=ReassignForm,
        title="Force-reassign tasks",
        submit="Reassign",
        intro=(
            "Each task leaves its current worker and goes, through the same assignment as the automation, to the "
            "worker you name or else to the best eligible other one. A refused task stays where it was. The "
            "Manager's inbox is told."
        ),
    )
    if not isinstance(answer, dict):
        return answer
    now = timezone.now()
    _apply_each(
        modeladmin,
        request,
        queryset.order_by("pk"),
        lambda task: task_reassign_force(
            task=task, reason=answer["reason"], actor=request.user, now=now, model_id=answer["model_id"] or None
        ),
        verb="Reassigned",
        noun="task",
    )
    return None


@admin.action(description="Assign to a chosen worker", permissions=["director"])
def task_assign_to_worker(modeladmin, request, queryset):
    """Give each chosen waiting task to the worker the Director names."""
    answer = _intermediate(
        modeladmin,
        request,
        queryset,
        action="task_assign_to_worker",
        form_class=AssignForm,
        title="Assign tasks to a chosen worker",
        submit="Assign",
        intro=(
            "Each task without a worker (waiting, or never assigned) goes to the worker you name, if that worker "
            "may take it; the refusal names why otherwise. The Manager's inbox is told."
        ),
    )
    if not isinstance(answer, dict):
        return answer
    now = timezone.now()
    _apply_each(
        modeladmin,
        request,
        queryset.order_by("pk"),
        lambda task: task_assign_chosen(
            task=task, model_id=answer["model_id"], reason=answer["reason"], actor=request.user, now=now
        ),
        verb="Assigned",
        noun="task",
    )
    return None


admin.site.unregister(Task)


@admin.register(Task)
class TaskAdmin(ObjectActionsMixin, workforce_admin.TaskAdmin):
    """Tasks, with the Director's force-reassign (a held task) and assign-to-a-chosen-worker (a waiting one)."""

    actions = [task_force_reassign, task_assign_to_worker]
    object_actions = ("task_force_reassign", "task_assign_to_worker")

    def object_action_applies(self, obj, name: str) -> bool:
        if obj.status == Task.Status.COMPLETED:
            return False
        held = obj.current_worker_id is not None
        return held if name == "task_force_reassign" else not held
