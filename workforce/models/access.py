from django.contrib.auth.models import Group
from django.db import models
from rest_framework_api_key.models import AbstractAPIKey


class Role(models.TextChoices):
    """The roles callers act in. Each is a Django group of the same name."""

    DIRECTOR = "Director", "Director"
    MANAGER = "Manager", "Manager"
    AUDITOR = "Auditor", "Auditor"
    VIEWER = "Viewer", "Viewer"


class ServiceKey(AbstractAPIKey):
    """An API key for a service (the Manager, an Auditor), stored hashed, acting in one role."""

    role = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="service_keys")

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "service key"
        verbose_name_plural = "service keys"
