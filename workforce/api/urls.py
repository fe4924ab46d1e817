from django.urls import path

from workforce.api import views

# Worker and task ids are the Manager's own strings and may hold slashes (openai/gpt-4o): path converters.
urlpatterns = [
    path("workers/", views.WorkerListView.as_view(), name="worker-list"),
    path("tasks/", views.TaskRegisterView.as_view(), name="task-register"),
    path("tasks/<path:task_id>/assign/", views.TaskAssignView.as_view(), name="task-assign"),
    path("tasks/<path:task_id>/complete/", views.TaskCompleteView.as_view(), name="task-complete"),
    path("tasks/<path:task_id>/", views.TaskDetailView.as_view(), name="task-detail"),
    path("routing/", views.RoutingView.as_view(), name="routing"),
    path("events/", views.EventListView.as_view(), name="event-list"),
]
