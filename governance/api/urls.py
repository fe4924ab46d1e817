from django.urls import path

from governance.api import views

urlpatterns = [
    path("audit/", views.AuditView.as_view(), name="audit"),
    path("audit/batch/", views.AuditBatchView.as_view(), name="audit-batch"),
    path("audit-runs/<uuid:run_id>/", views.AuditRunDetailView.as_view(), name="audit-run-detail"),
    path("enforce/", views.EnforceView.as_view(), name="enforce"),
    path("score/", views.ScoreView.as_view(), name="score"),
    path("incidents/", views.IncidentListView.as_view(), name="incident-list"),
    path("incidents/<uuid:incident_id>/", views.IncidentDetailView.as_view(), name="incident-detail"),
    # Before workforce's routes, so "<model_id>/record/" is never read as a worker id ending in /record.
    path("workers/", views.WorkerListView.as_view(), name="worker-list"),
    path("workers/<path:model_id>/record/", views.WorkerRecordView.as_view(), name="worker-record"),
    path("workers/<path:model_id>/", views.WorkerDetailView.as_view(), name="worker-detail"),
]
