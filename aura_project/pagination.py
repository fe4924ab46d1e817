"""The paged lists' limit and offset, bounded and checked: a bad value is a 400 naming it.

DRF's LimitOffsetPagination falls back to its default on a zero, negative or non-numeric limit, and passes an
offset or limit past 2^63 to the database, which overflows (a 500)."""

from rest_framework import pagination
from rest_framework.settings import api_settings

from workforce.api.params import int_param

MAX_LIMIT = 500
MAX_OFFSET = 10_000_000  # far past any page a client walks to; keeps offset + limit inside a BIGINT


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    default_limit = api_settings.PAGE_SIZE
    max_limit = MAX_LIMIT
    limit_query_description = f"Results per page, 1 to {MAX_LIMIT} (default {api_settings.PAGE_SIZE})."
    offset_query_description = f"Results to skip, 0 to {MAX_OFFSET}."

    def get_limit(self, request):
        return int_param(request, self.limit_query_param, self.default_limit, minimum=1, maximum=MAX_LIMIT)

    def get_offset(self, request):
        return int_param(request, self.offset_query_param, 0, minimum=0, maximum=MAX_OFFSET)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            self.limit_query_param: {"minimum": 1, "maximum": MAX_LIMIT, "default": self.default_limit},
            self.offset_query_param: {"minimum": 0, "maximum": MAX_OFFSET, "default": 0},
        }
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters
