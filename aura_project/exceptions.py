"""The API's one exception handler: domain and validation errors become 4xx bodies that name the field.

Every error body is a JSON object. A field's errors sit under its name, nested fields named the way the domain
names them (`reports[3].logs[0]`, `metrics.accuracy`, `violations[0].severity`); errors about the request as a
whole sit under `detail`, with a stable `code`. Exceptions that are no API error (a bug, the database gone) are
left to Django's handler500 (aura_project/error_views.py), which answers JSON under /api/.
"""

from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from aura_project.errors import DomainError


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(exc.as_body(), status=exc.status_code)
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": "request body too large", "code": "too_large"}, status=413)
    if isinstance(exc, DjangoValidationError):
        body = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        response.data = flatten(response.data)
    elif response is not None and isinstance(response.data, dict) and "detail" in response.data:
        response.data.setdefault("code", getattr(response.data["detail"], "code", None) or "error")
    return response


def flatten(errors, prefix: str = "") -> dict:
    """DRF's nested errors ({"reports": [{}, {"logs": {0: [...]}}]}) as one level of named fields
    ({"reports[1].logs[0]": [...]}). A list of messages is a leaf; list positions and ListField indexes
    (ints) become [i], dict keys become .key."""
    if isinstance(errors, list) and all(isinstance(e, str) for e in errors):
        return {prefix or "detail": errors}
    if isinstance(errors, str):
        return {prefix or "detail": [errors]}
    items = enumerate(errors) if isinstance(errors, list) else errors.items()
    flat = {}
    for key, value in items:
        if not value:
            continue  # a valid item of a list (DRF reports {} for it)
        name = f"{prefix}[{key}]" if isinstance(key, int) else (f"{prefix}.{key}" if prefix else str(key))
        flat.update(flatten(value, name))
    return flat
