"""The Director's admin for the workforce: workers, tasks, assignments, the Manager's events and service keys.

Access follows the API's roles (workforce.services.access): every role may look, the Director (or a
superuser) may act. A Django model permission may let a user look, never act: a change made here skips the
services that record why, so only the Director makes one. Append-only evidence is read-only here for
everyone, superusers included; the database refuses the rest (governance migration 0004). History is for
reading: simple-history's "revert" would restore an old status or tier with no record of why, so it is off.
"""

from django import forms
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey
from simple_history.admin import SimpleHistoryAdmin
from unfold.admin import ModelAdmin
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm
from unfold.widgets import UnfoldAdminTextInputWidget

from aura_project.admin_scale import LargeTableAdminMixin
from workforce.models import Assignment, Event, Handover, Role, ServiceKey, Task, Worker
from workforce.services.access import caller_roles

ALL_ROLES = frozenset(role.value for role in Role)
DIRECTOR_ONLY = frozenset({Role.DIRECTOR.value})


def _roles(request) -> set[str]:
    # The admin asks for permissions many times per page; look the user's groups up once per request.
    if not hasattr(request, "_aura_roles"):
        request._aura_roles = caller_roles(request.user)
    return request._aura_roles


class RoleAccessMixin:
    """Admin permissions by role, as in the API: `view_roles` may look, the Director may act. A model
    permission granted to someone else widens what they may see, never what they may change."""

    view_roles: frozenset[str] = ALL_ROLES

    def _may_view(self, request) -> bool:
        return bool(_roles(request) & (self.view_roles | DIRECTOR_ONLY))

    def _may_act(self, request) -> bool:
        return Role.DIRECTOR.value in _roles(request)

    def has_module_permission(self, request) -> bool:
        return self._may_view(request) or super().has_module_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._may_view(request) or super().has_view_permission(request, obj)

    def has_add_permission(self, request) -> bool:
        return self._may_act(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._may_act(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._may_act(request)

    def has_director_permission(self, request) -> bool:
        """Director-only admin actions (`@admin.action(permissions=["director"])`): the role alone decides;
        no model permission granted to another user reaches them."""
        return self._may_act(request)


class ViewOnlyAdminMixin:
    """Rows that services write: the admin shows them but adds and edits nothing."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class AppendOnlyAdminMixin(ViewOnlyAdminMixin):
    """Evidence: nobody adds, edits or deletes it here, superusers included. A correction is a new row."""

    # Evidence tables grow without bound; skip the unfiltered COUNT(*) the changelist would add.
    show_full_result_count = False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class InternalTableMixin:
    """A table the system keeps for itself (permits, stored command answers, a run's items, users and
    groups): listed on no index or sidebar but a superuser's. A direct link still opens for whoever may view."""

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser


class CapabilitiesField(forms.CharField):
    """Capability tags typed as a comma-separated list ("code, review"), stored as the JSON list routing reads."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", UnfoldAdminTextInputWidget(attrs={"placeholder": "code, review, summarise"}))
        kwargs.setdefault("help_text", "Comma-separated capability tags, e.g. code, review.")
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(str(tag) for tag in value)
        return value

    def to_python(self, value) -> list[str]:
        if isinstance(value, list | tuple):
            return [str(tag) for tag in value]
        tags = [tag.strip() for tag in (value or "").split(",")]
        return list(dict.fromkeys(tag for tag in tags if tag))  # in order, once each

    def validate(self, value) -> None:
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        for tag in value:
            if len(tag) > 50 or any(ch.isspace() for ch in tag):
                raise forms.ValidationError(
                    f"“{tag}” is not a capability tag: one word of at most 50 characters.", code="invalid"
                )


class WorkerForm(forms.ModelForm):
    capabilities = CapabilitiesField(required=False)

    class Meta:
        model = Worker
        fields = "__all__"  # noqa: DJ007 -- the admin narrows it: its readonly fields are never in the form


class HistoryAdmin(RoleAccessMixin, SimpleHistoryAdmin, ModelAdmin):
    """A tracked model: the admin's history view lists every saved version, to read, never to revert to.

    A revert saves the old version straight to the row, past the services: a terminated or blacklisted
    worker would come back with no DisciplinaryAction and no event. Whoever needs an old state back asks
    the service that records it (a REHIRE, an OVERTURN, a new settings version).
    """

    def revert_disabled(self, request, obj=None) -> bool:
        return True  # hides the Revert button; the POST is refused below

    def get_history_queryset(self, request, history_manager, pk_name, object_id):
        # For a model with no tracked foreign key (Worker, Policy, settings) simple-history's select_related()
        # with no names widens to every non-null one and drops the nullable history_user it had just asked
        # for: one query per version listed. Asked for again.
        return super().get_history_queryset(request, history_manager, pk_name, object_id).select_related("history_user")

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method != "GET":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


@admin.register(Worker)
class WorkerAdmin(HistoryAdmin):
    form = WorkerForm
    list_display = ["model_id", "name", "provider", "tier", "status", "reputation", "scored_runs", "hired_at"]
    list_filter = ["status", "tier", "provider"]
    search_fields = ["model_id", "name", "provider"]
    # Tier, status and reputation move only through HR and Accountant services, which record why.
    readonly_fields = [
        "tier",
        "status",
        "budget",
        "reputation",
        "scored_runs",
        "runs_since_tier_change",
        "probation_clean_runs",
        "cooldown_until",
        "suspended_until",
        "unhealthy_until",
        "evidence_scored_until",
        "hired_at",
        "updated_at",
    ]

    def get_readonly_fields(self, request, obj=None):
        # The model_id is how the Manager knows the worker: renamed, the Manager's id would answer 404 and its
        # reports, scores and events would name nobody. It is set at hire and never changes; only an add form
        # (the admin has none) may fill it in.
        fields = list(super().get_readonly_fields(request, obj))
        return fields if obj is None else ["model_id", *fields]

    def has_add_permission(self, request) -> bool:
        return False  # the Manager hires through the API, whose service sets the budget and writes the event

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a worker leaves by TERMINATE or BLACKLIST, which its record explains


@admin.register(Task)
class TaskAdmin(HistoryAdmin):
    list_display = ["task_id", "capability", "priority", "status", "current_worker", "attempts", "needs_director"]
    list_filter = ["status", "needs_director", "capability"]
    search_fields = ["task_id", "capability", "current_worker__model_id"]
    list_select_related = ["current_worker"]
    date_hierarchy = "created_at"
    # Routing owns the assignment state.
    readonly_fields = ["task_id", "status", "current_worker", "attempts", "created_at", "updated_at"]

    def has_add_permission(self, request) -> bool:
        return False  # the Manager registers tasks through the API


@admin.register(Assignment)
class AssignmentAdmin(ViewOnlyAdminMixin, RoleAccessMixin, ModelAdmin):
    list_display = ["task", "worker", "outcome", "started_at", "ended_at", "reported_at"]
    list_filter = ["outcome"]
    search_fields = ["task__task_id", "worker__model_id"]
    list_select_related = ["task", "worker"]
    date_hierarchy = "started_at"


@admin.register(Event)
class EventAdmin(LargeTableAdminMixin, AppendOnlyAdminMixin, RoleAccessMixin, ModelAdmin):
    """The Manager's inbox, newest first (its cursor reads oldest first); a list that stays fast at millions of
    rows (aura_project.admin_scale), the kind filter served by an index (0007_admin_indexes)."""

    list_display = ["id", "kind", "model_id", "task_id", "created_at"]
    list_filter = ["kind"]
    search_fields = ["model_id", "task_id"]
    date_hierarchy = "created_at"
    ordering = ["-id"]


@admin.register(ServiceKey)
class ServiceKeyAdmin(RoleAccessMixin, APIKeyModelAdmin, ModelAdmin):
    """The Director issues and revokes service keys; the raw key is shown once, in a message, on create."""

    view_roles = DIRECTOR_ONLY
    list_display = ["prefix", "name", "role", "created", "expiry_date", "_has_expired", "revoked"]
    list_filter = ["role", "revoked", "created"]
    list_select_related = ["role"]
    fields = ["name", "role", "expiry_date", "revoked", "prefix"]

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        # A key keeps the role it was issued with; a new role is a new key, so the admin log tells the story.
        return readonly + ("role",) if obj is not None else readonly

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "role":
            kwargs["queryset"] = Group.objects.filter(name__in=ALL_ROLES)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead, so the key's name and prefix stay on record


@admin.register(Handover)
class HandoverAdmin(ViewOnlyAdminMixin, RoleAccessMixin, ModelAdmin):
    """Each worker's departure from service and the handing on of its open tasks (pending ones wait for the
    sweeper)."""

    list_display = ["created_at", "worker", "status", "moved", "waiting", "reason", "actor_label", "finished_at"]
    list_filter = ["status"]
    search_fields = ["worker__model_id"]
    list_select_related = ["worker"]


# The library registers its own APIKey model, which nothing authenticates with (ours is ServiceKey): a key
# issued there would look valid and never work. Importing its admin above has registered it by now.
if admin.site.is_registered(APIKey):
    admin.site.unregister(APIKey)


# Users and groups (the roles) in the control room's look: unfold's forms, as its docs show. Internal: the
# Director works through roles and keys; a superuser manages the accounts.
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class UserAdmin(InternalTableMixin, BaseUserAdmin, ModelAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm


@admin.register(Group)
class GroupAdmin(InternalTableMixin, BaseGroupAdmin, ModelAdmin):
    pass


# django-axes' login attempts and lockouts (the admin login's guard), in the same look; as before, only whoever
# holds Django's permissions on them (a superuser) sees them. Unlocking is documented in docs/operations.md.
if apps.is_installed("axes"):
    from axes import admin as axes_admin
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    for _model, _base in (
        (AccessAttempt, axes_admin.AccessAttemptAdmin),
        (AccessLog, axes_admin.AccessLogAdmin),
        (AccessFailureLog, axes_admin.AccessFailureLogAdmin),
    ):
        if admin.site.is_registered(_model):
            admin.site.unregister(_model)
            admin.site.register(_model, type(_base.__name__, (_base, ModelAdmin), {}))
