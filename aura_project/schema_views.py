"""The schema, Swagger UI and ReDoc views, with their refusals (401, 403, 429) in JSON like every other API error.

Content negotiation would render an error with the view's own renderer: OpenAPI YAML, or Swagger's HTML page."""

from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.renderers import JSONRenderer


class _JsonErrors:
    def handle_exception(self, exc):
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)


class SchemaView(_JsonErrors, SpectacularAPIView):
    pass


class SwaggerView(_JsonErrors, SpectacularSwaggerView):
    pass


class RedocView(_JsonErrors, SpectacularRedocView):
    pass
