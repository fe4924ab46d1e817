"""Serializer fields for values the API stores. DRF's CharField already refuses NUL and lone surrogates; a
JSONField takes any string anywhere inside it, and PostgreSQL then refuses the row (a 500)."""

from rest_framework import serializers

from aura_project.validation import json_text_problem


class StoredJSONField(serializers.JSONField):
    """Any JSON value whose strings (keys included) can be stored: no NUL, no lone surrogate."""

    default_error_messages = {"unstorable_text": "{problem}"}

    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        if found := json_text_problem(data):
            where, problem = found
            self.fail("unstorable_text", problem=f"{problem} (at {where})" if where else problem)
        return data
