from django.apps import AppConfig


class WorkforceConfig(AppConfig):
    name = "workforce"
    verbose_name = "Workforce"

    def ready(self) -> None:
        from workforce.api import schema  # noqa: F401  (registers the OpenAPI auth extension)
