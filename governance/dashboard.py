"""The Director's dashboard: the admin index's figures, charts and queues (django-unfold's DASHBOARD_CALLBACK)."""


def dashboard_callback(request, context):
    return context
