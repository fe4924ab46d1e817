from django.contrib import admin
from django.urls import include, path

from aura_project.health import healthz
from aura_project.schema_views import RedocView, SchemaView, SwaggerView

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", SwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", RedocView.as_view(url_name="schema"), name="redoc"),
    # governance first: its worker routes must win over workforce's list route's neighbours.
    path("api/", include("governance.api.urls")),
    path("api/", include("workforce.api.urls")),
]

# JSON under /api/, Django's pages elsewhere.
handler400 = "aura_project.error_views.bad_request"
handler403 = "aura_project.error_views.permission_denied"
handler404 = "aura_project.error_views.page_not_found"
handler500 = "aura_project.error_views.server_error"
