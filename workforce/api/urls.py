from django.urls import path

from workforce.api import views

# GET/POST workers/ is served by governance's subclass of views.WorkerListView, so hires get the tier budgets
# of the settings in force. Worker and task ids are the Manager's own strings and may hold slashes
# (openai/gpt-4o): path converters.
urlpatterns = [
    path("tasks/", views.TaskRegisterView.as_view(), name="task-register"),
    path("tasks/<path:task_id>/assign/", views.TaskAssignView.as_view(), name="task-assign"),
    path("tasks/<path:task_id>/complete/", views.TaskCompleteView.as_view(), name="task-complete"),
    path("tasks/<path:task_id>/", views.TaskDetailView.as_view(), name="task-detail"),
    path("routing/", views.RoutingView.as_view(), name="routing"),
    path("events/", views.EventListView.as_view(), name="event-list"),
]
