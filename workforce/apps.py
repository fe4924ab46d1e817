from django.apps import AppConfig


class WorkforceConfig(AppConfig):
    name = "workforce"
    verbose_name = "Workforce"

    def ready(self) -> None:
        from simple_history.signals import pre_create_historical_record

        from aura_project.history import stamp_history_row
        from workforce.api import schema  # noqa: F401  (registers the OpenAPI auth extension)

        # Every history row, in every app, names who acted (aura_project.history).
        pre_create_historical_record.connect(stamp_history_row, dispatch_uid="aura_stamp_history_row")
