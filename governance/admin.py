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

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponseBase, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from aura_project.admin_scale import LargeTableAdminMixin, fixed_values_filter
from aura_project.errors import DomainError
from governance import admin_charts
from governance.domain import scoring
from governance.domain.detection import DetectionConfig
from governance.domain.ladder import DEFAULT_POLICIES
from governance.models import (
    AuditRecord,
    AuditRun,
    AuditRunItem,
    CommandRecord,
    DisciplinaryAction,
    GovernanceSettings,
    Hold,
    Incident,
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
from governance.services.discipline import director_intervene
from governance.services.holds import hold_lift, hold_place
from governance.services.overturn import action_overturn
from governance.services.policies import policy_problems, policy_update
from governance.services.purge import REDACTED_ITEMS, records_purge_early
from governance.services.review import CONFIRM, DISMISS, sanction_review
from governance.services.scoring_runs import scoring_run_start
from governance.services.settings import settings_problems, settings_publish
from workforce import admin as workforce_admin
from workforce.admin import AppendOnlyAdminMixin, HistoryAdmin, RoleAccessMixin, ViewOnlyAdminMixin
from workforce.domain.lifecycle import intervention_problem
from workforce.models import Worker
from workforce.selectors import worker_state

# An early purge deletes in one transaction; a larger cleanup is the retention purge's job, in chunks.
EARLY_PURGE_LIMIT = 500
TREND_POINTS = 50
APPLY = "apply"  # set by the intermediate page's form: the Director has filled it in and confirmed


# --- Intermediate pages --------------------------------------------------------------------------------------


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=500, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), help_text="Kept on the record."
    )


class PurgeForm(ReasonForm):
    confirm = forms.BooleanField(label="I understand this deletes evidence permanently")


class HoldForm(ReasonForm):
    kind = forms.ChoiceField(choices=Hold.Kind.choices, initial=Hold.Kind.DIRECTOR)

    field_order = ["kind", "reason"]


class ConfirmForm(forms.Form):
    """Nothing to fill in: the button is the confirmation."""


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

    def object_actions_for(self, request, obj) -> list[tuple[str, str, bool]]:
        offered = self.get_actions(request)  # already filtered by role
        return [
            (name, offered[name][2], name in self.danger_actions)
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
        form_class=ConfirmForm,
        title="Lift holds",
        submit="Lift the holds",
        intro="The records these holds cover fall under the retention purge again.",
    )
    if not isinstance(answer, dict):
        return answer
    now = timezone.now()
    _apply_each(
        modeladmin,
        request,
        queryset,
        lambda hold: hold_lift(hold=hold, actor=request.user, now=now),
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


def _intervention(action: str, verb: str, description: str, intro: str):
    """An admin action applying one Director's intervention to each chosen worker."""

    def intervene(modeladmin, request, queryset):
        answer = _intermediate(
            modeladmin,
            request,
            queryset,
            action=intervene.__name__,
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
            queryset,
            lambda worker: director_intervene(
                worker=worker, action=action, reason=answer["reason"], actor=request.user, now=now
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
    "SUSPEND", "Suspended", "Suspend", "The worker is not routed until the suspension ends; its tasks move on."
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


class EvidenceAdmin(LargeTableAdminMixin, ObjectActionsMixin, AppendOnlyAdminMixin, HistoryAdmin):
    """Append-only evidence: read-only, no delete, and the Director's early purge. Lists stay fast at millions
    of rows (aura_project.admin_scale); each filter below reads a fixed set of values and has an index
    (0012_admin_indexes) that finds its rows newest first, so a rare value costs what a common one does."""

    actions = [purge_early]
    object_actions = ("purge_early",)
    danger_actions = frozenset({"purge_early"})


@admin.register(AuditRecord)
class AuditRecordAdmin(EvidenceAdmin):
    list_display = ["report_id", "worker", "task", "outcome", "hallucinated", "scope_drift", "received_at"]
    list_filter = ["outcome", "hallucinated", "scope_drift", "format_violation"]
    search_fields = ["report_id", "worker__model_id", "task__task_id"]
    list_select_related = ["worker", "task"]
    date_hierarchy = "received_at"


@admin.register(Incident)
class IncidentAdmin(EvidenceAdmin):
    # Read-only as a whole; status moves through HR services and overturns.
    list_display = ["id", "worker", "task", "severity", "status", "reported_at", "resolved_at"]
    list_filter = ["status", ("severity", SeverityFilter)]
    search_fields = ["worker__model_id", "task__task_id", "report__report_id"]
    list_select_related = ["worker", "task"]
    date_hierarchy = "reported_at"
    actions = [place_hold, purge_early]
    object_actions = ("place_hold", "purge_early")


@admin.register(DisciplinaryAction)
class DisciplinaryActionAdmin(EvidenceAdmin):
    list_display = ["created_at", "worker", "action", "actor_kind", "actor", "reason", "overturns", "effective_until"]
    list_filter = ["action", "actor_kind"]
    search_fields = ["worker__model_id", "reason", "violation_type"]
    list_select_related = ["worker", "actor", "overturns"]
    date_hierarchy = "created_at"
    actions = [overturn_actions, purge_early]
    object_actions = ("overturn_actions", "purge_early")

    def object_action_applies(self, obj, name: str) -> bool:
        if name == "overturn_actions":
            return obj.action != "OVERTURN" and not DisciplinaryAction.objects.filter(overturns=obj).exists()
        return True


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


# Everything a Director sets; version, created_at and created_by are the service's.
SETTINGS_FIELDS = [
    f.name for f in GovernanceSettings._meta.concrete_fields if f.editable and f.name not in ("version", "created_by")
]


class GovernanceSettingsForm(forms.ModelForm):
    note = forms.CharField(max_length=300, help_text="Why this version: kept with it, and on its history.")

    class Meta:
        model = GovernanceSettings
        fields = SETTINGS_FIELDS

    def clean(self):
        cleaned = super().clean()
        for field, message in settings_problems(cleaned).items():
            if field not in self.errors:
                self.add_error(field if field in self.fields else None, message)
        return cleaned


@admin.register(GovernanceSettings)
class GovernanceSettingsAdmin(AppendOnlyAdminMixin, HistoryAdmin):
    """Every version stays as it was: decisions name the version they used. The Director publishes a new one
    from the add form, which starts from the version in force."""

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
        (
            "Accountant",
            {
                "fields": [
                    "weights",
                    "penalty_points",
                    ("promotion_threshold", "warning_threshold", "termination_threshold"),
                    "reputation_new_weight_pct",
                    "min_runs_for_promotion",
                    ("scoring_window_days", "scoring_window_cap"),
                    "tier_budgets",
                ]
            },
        ),
        ("Auditor", {"fields": ["timeout_ms", "evidence_entries"]}),
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

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.fieldsets
        return [(None, {"fields": ["version", "created_at", "created_by"]}), *self.fieldsets]

    def get_readonly_fields(self, request, obj=None):
        return ["version", "created_at", "created_by"] if obj is not None else []

    def get_changeform_initial_data(self, request):
        current = settings_current()
        initial = {f.name: getattr(current, f.name) for f in GovernanceSettings._meta.concrete_fields}
        for name in ("version", "created_by", "created_at", "note"):
            initial.pop(name, None)
        return initial

    def save_model(self, request, obj, form, change):
        # Only ever an add (nobody may change a version); the service stores it as a new row.
        settings_publish(draft=obj, note=form.cleaned_data["note"], actor=request.user)


class PolicyForm(forms.ModelForm):
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

    def has_add_permission(self, request) -> bool:
        return False

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
        )


# --- Runs, holds and purges ----------------------------------------------------------------------------------


@admin.register(AuditRun)
class AuditRunAdmin(ViewOnlyAdminMixin, RoleAccessMixin, admin.ModelAdmin):
    list_display = ["id", "status", "total", "processed", "submitted_by", "created_at", "finished_at"]
    list_filter = ["status"]
    search_fields = ["submitted_by"]
    date_hierarchy = "created_at"


@admin.register(AuditRunItem)
class AuditRunItemAdmin(ViewOnlyAdminMixin, RoleAccessMixin, admin.ModelAdmin):
    list_display = ["run", "position", "status"]
    list_filter = ["status"]
    list_select_related = ["run"]


@admin.register(CommandRecord)
class CommandRecordAdmin(ViewOnlyAdminMixin, RoleAccessMixin, admin.ModelAdmin):
    """The stored answers that make a retried command (Idempotency-Key) change nothing."""

    list_display = ["key", "status_code", "created_at"]
    search_fields = ["key"]
    date_hierarchy = "created_at"
    # The retention purge deletes these; a row deleted here would let a late retry apply a command twice.
    show_full_result_count = False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ScoringRun)
class ScoringRunAdmin(ViewOnlyAdminMixin, RoleAccessMixin, admin.ModelAdmin):
    """Scoring runs, and the Director's "Score workers now" button: a run needs no chosen rows, so it is a
    POST from the list's tools rather than an action on selected runs."""

    list_display = ["key", "trigger", "status", "window_end", "workers_scored", "created_at", "finished_at"]
    list_filter = ["status", "trigger"]
    search_fields = ["key"]
    date_hierarchy = "created_at"

    def get_urls(self):
        start = path("start/", self.admin_site.admin_view(self.start_view), name="governance_scoringrun_start")
        return [start, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "may_score": self.has_director_permission(request)}
        return super().changelist_view(request, extra_context)

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
class HoldAdmin(ViewOnlyAdminMixin, RoleAccessMixin, admin.ModelAdmin):
    """Holds are placed from a worker's or an incident's page (or list) and lifted here."""

    list_display = ["kind", "worker", "incident", "reason", "created_by", "created_at", "lifted_by", "lifted_at"]
    list_filter = ["kind", "lifted_at"]
    search_fields = ["worker__model_id", "reason"]
    list_select_related = ["worker", "incident", "created_by", "lifted_by"]
    date_hierarchy = "created_at"
    actions = [lift_holds]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a hold is lifted, not deleted, so the purge's exemptions stay explained


@admin.register(PurgeLog)
class PurgeLogAdmin(AppendOnlyAdminMixin, RoleAccessMixin, admin.ModelAdmin):
    """The record of what each purge deleted: it outlives the rows it names."""

    list_display = ["started_at", "actor_kind", "actor", "reason", "cutoff", "dry_run", "finished_at"]
    list_filter = ["actor_kind", "dry_run"]
    search_fields = ["reason"]
    list_select_related = ["actor"]
    date_hierarchy = "started_at"


@admin.register(PurgePermit)
class PurgePermitAdmin(ViewOnlyAdminMixin, RoleAccessMixin, admin.ModelAdmin):
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
    "Each sanction is applied now, naming you and your reason, as if the spike guard had not held it.",
)
dismiss_sanctions = _review(
    DISMISS,
    "Dismissed",
    "Dismiss held sanctions",
    "Each sanction is dropped: the worker stays as it is. The incident and its evidence stay on the record.",
)


@admin.register(PendingSanction)
class PendingSanctionAdmin(ViewOnlyAdminMixin, HistoryAdmin):
    """Suspensions, terminations and blacklistings the spike guard held for the Director, with their evidence."""

    list_display = ["created_at", "worker", "action", "status", "violation_type", "reason", "spike", "decided_by"]
    list_filter = ["status", "action"]
    search_fields = ["worker__model_id", "reason"]
    list_select_related = ["worker", "spike", "decided_by", "incident"]
    actions = [confirm_sanctions, dismiss_sanctions]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Spike)
class SpikeAdmin(ViewOnlyAdminMixin, RoleAccessMixin, admin.ModelAdmin):
    """Each spike the guard saw: its scope, figures and how many sanctions it held."""

    list_display = ["started_at", "scope", "figures", "held", "last_seen_at", "settings_version"]
    search_fields = ["scope"]


# --- Workers, governed ---------------------------------------------------------------------------------------

admin.site.unregister(Worker)


@admin.register(Worker)
class WorkerAdmin(ObjectActionsMixin, workforce_admin.WorkerAdmin):
    """The Worker page with the Director's interventions and holds, its reputation trend, and the fleet's
    reputations and statuses above the list."""

    change_form_template = None  # admin/workforce/worker/change_form.html, which extends the aura one
    actions = [worker_suspend, worker_terminate, worker_blacklist, worker_rehire, place_hold]
    object_actions = ("worker_suspend", "worker_terminate", "worker_blacklist", "worker_rehire", "place_hold")
    danger_actions = frozenset({"worker_terminate", "worker_blacklist"})

    def object_action_applies(self, obj, name: str) -> bool:
        action = INTERVENTION_ACTIONS.get(name)
        return action is None or intervention_problem(worker_state(obj), action) is None

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        worker = self.get_object(request, unquote(object_id))
        if worker is not None:
            settings = settings_current()
            # Newest first on the (worker, created_at) index, then drawn oldest first.
            trend = list(
                ScoreRecord.objects.filter(worker=worker)
                .order_by("-created_at", "-id")
                .values_list("reputation", "created_at")[:TREND_POINTS]
            )[::-1]
            extra_context.update(
                reputation_points=len(trend),
                standing=worker_standing(worker=worker, now=timezone.now(), s=settings),
                reputation_chart=mark_safe(
                    admin_charts.line_chart(
                        [reputation for reputation, _ in trend],
                        labels=[f"{timezone.localtime(at):%Y-%m-%d %H:%M}" for _, at in trend],
                        title=f"Reputation of {worker.model_id}",
                        guides=[
                            ("promotion", settings.promotion_threshold),
                            ("warning", settings.warning_threshold),
                            ("termination", settings.termination_threshold),
                        ],
                    )
                ),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def changelist_view(self, request, extra_context=None):
        # Two grouped queries whatever the fleet's size: at most 101 reputations and 6 statuses come back.
        fleet = Worker.objects.order_by()
        by_reputation = dict(fleet.values_list("reputation").annotate(n=Count("pk")))
        by_status = dict(fleet.values_list("status").annotate(n=Count("pk")))
        extra_context = {
            **(extra_context or {}),
            "may_score": self.has_director_permission(request),
            "reputation_histogram": mark_safe(
                admin_charts.bar_chart(
                    admin_charts.reputation_buckets(by_reputation),
                    title="Workers by reputation, 10-point buckets",
                    width=560,
                )
            ),
            "status_chart": mark_safe(
                admin_charts.bar_chart(
                    [(label, by_status.get(value, 0)) for value, label in Worker.Status.choices],
                    title="Workers by status",
                    width=560,
                )
            ),
        }
        return super().changelist_view(request, extra_context)
