from django.urls import path

from governance.api import director, oversight, views

# The Director's interventions (governance.api.director). Worker and task ids may hold slashes: the command is
# the last segment.
director_patterns = [
    path("director/mode/", director.ModeView.as_view(), name="director-mode"),
    path("director/halt/", director.HaltView.as_view(), name="director-halt"),
    path("director/resume/", director.ResumeView.as_view(), name="director-resume"),
    path("director/workers/<path:model_id>/suspend/", director.WorkerSuspendView.as_view(), name="director-suspend"),
    path(
        "director/workers/<path:model_id>/reinstate/",
        director.WorkerReinstateView.as_view(),
        name="director-reinstate",
    ),
    path(
        "director/workers/<path:model_id>/terminate/",
        director.WorkerTerminateView.as_view(),
        name="director-terminate",
    ),
    path("director/workers/<path:model_id>/rehire/", director.WorkerRehireView.as_view(), name="director-rehire"),
    path(
        "director/workers/<path:model_id>/blacklist/",
        director.WorkerBlacklistView.as_view(),
        name="director-blacklist",
    ),
    path("director/actions/<int:action_id>/overturn/", director.ActionOverturnView.as_view(), name="director-overturn"),
    path(
        "director/pending-sanctions/<int:pending_id>/confirm/",
        director.SanctionConfirmView.as_view(),
        name="director-sanction-confirm",
    ),
    path(
        "director/pending-sanctions/<int:pending_id>/dismiss/",
        director.SanctionDismissView.as_view(),
        name="director-sanction-dismiss",
    ),
    path("director/holds/", director.HoldPlaceView.as_view(), name="director-hold-place"),
    path("director/holds/<int:hold_id>/release/", director.HoldReleaseView.as_view(), name="director-hold-release"),
    path("director/tasks/<path:task_id>/reassign/", director.TaskReassignView.as_view(), name="director-reassign"),
    path("director/tasks/<path:task_id>/assign/", director.TaskAssignView.as_view(), name="director-assign"),
    path("director/detectors/<str:name>/mode/", director.DetectorModeView.as_view(), name="director-detector-mode"),
]

urlpatterns = director_patterns + [
    path("audit/", views.AuditView.as_view(), name="audit"),
    path("audit/batch/", views.AuditBatchView.as_view(), name="audit-batch"),
    path("audit-runs/<uuid:run_id>/", views.AuditRunDetailView.as_view(), name="audit-run-detail"),
    path("detectors/oversight/", oversight.DetectorOversightView.as_view(), name="detector-oversight"),
    path("detectors/", views.DetectorListView.as_view(), name="detector-list"),
    path("enforce/", views.EnforceView.as_view(), name="enforce"),
    path("score/", views.ScoreView.as_view(), name="score"),
    path("incidents/", views.IncidentListView.as_view(), name="incident-list"),
    path("incidents/<uuid:incident_id>/", views.IncidentDetailView.as_view(), name="incident-detail"),
    # Before workforce's routes, so "<model_id>/record/" is never read as a worker id ending in /record.
    path("workers/", views.WorkerListView.as_view(), name="worker-list"),
    path("workers/<path:model_id>/record/", views.WorkerRecordView.as_view(), name="worker-record"),
    path("workers/<path:model_id>/", views.WorkerDetailView.as_view(), name="worker-detail"),
]
