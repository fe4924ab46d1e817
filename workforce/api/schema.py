"""OpenAPI descriptions drf-spectacular cannot infer: the service key scheme, and every operation's errors."""

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import ResolvedComponent

from aura_project.validation import MAX_JSON_DEPTH

# What a stored string may hold (aura_project/validation.py refuses the rest): no NUL. Lone surrogates are refused
# too, but are no Unicode text at all, and a pattern cannot name them portably (Rust's and Go's engines reject
# the escape); the schema says so in words.
STORABLE_TEXT = "^[^\\x00]*$"
# A field that may not be blank: DRF strips whitespace (str.isspace) first, so one character must be something
# else. Spelled out, as `\s` means ASCII whitespace to some regex engines and all of Unicode's to others.
_SPACE = "".join(f"\\u{i:04x}" for i in range(0x10000) if chr(i).isspace())
STORABLE_NONBLANK = f"^[^\\x00]*[^{_SPACE}\\x00][^\\x00]*$"

ERROR_DESCRIPTIONS = {
    400: f"Bad input. The body names each field at fault (nested ones as `reports[3].logs[0]`, `metrics.accuracy`); "
    f"a body that is not JSON, or JSON nested more than {MAX_JSON_DEPTH} levels deep, is named under `detail`. "
    "No string, in the body, the path or the query, may hold a NUL character or a lone surrogate.",
    401: "No credentials, or a key that is unknown, revoked or expired.",
    403: "The caller's role may not do this.",
    404: "No such resource, or an id in the body names no worker or task.",
    409: "Conflicts with the resource's state (a duplicate id, a task already completed).",
    411: "A chunked body sent to a server that does not de-chunk; send Content-Length.",
    413: "The body is over 1 MB (chunked bodies included).",
    415: "The body's Content-Type is not JSON, form or multipart.",
    422: "The idempotency key or report id was used before with a different body.",
    429: "Too many requests; see Retry-After.",
    503: "The database is unavailable; nothing was written. Try again after Retry-After seconds.",
}
ALWAYS = (401, 403, 429, 503)
WITH_BODY = (400, 413, 415)

ERROR_SCHEMA = {
    "type": "object",
    "description": "An error. Field errors are keyed by the field's name, each a list of messages; an error "
    "about the request as a whole has `detail`, and a stable `code` where one applies.",
    "properties": {
        "detail": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "code": {"type": "string"},
    },
    "additionalProperties": {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}]},
}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's, with each operation's error responses documented under one `Error` component.

    A view lists the errors particular to it in `error_codes` (a tuple, or a dict by HTTP method); the errors
    every operation can give (authentication, role, throttle, database down), and a body's (bad input, too large,
    wrong media type), are added here."""

    def map_parsers(self):
        # The API is JSON. Form and multipart bodies are still parsed (DRF's defaults, kept for sessions), but a
        # Manager is never offered them.
        return ["application/json"]

    def _get_parameters(self):
        parameters = super()._get_parameters()
        for parameter in parameters:
            _storable(parameter.get("schema", {}), blank=parameter.get("in") != "path")
        return parameters

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction == "request" and not getattr(field, "read_only", False):
            _storable(schema, blank=getattr(field, "allow_blank", True))
        return schema

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request":
            _merge(schema, getattr(serializer, "openapi_request_schema", {}))
        return schema

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        codes = set(ALWAYS)
        if self.method in ("POST", "PUT", "PATCH"):
            codes.update(WITH_BODY)
            codes.add(411)
        if any(p.get("in") == "path" for p in self._get_parameters()):
            codes.add(404)
        if any(p.get("in") == "query" for p in self._get_parameters()):
            codes.add(400)
        particular = getattr(self.view, "error_codes", ())
        if isinstance(particular, dict):
            particular = particular.get(self.method.lower(), ())
        codes.update(particular)
        error = self._error_component()
        for code in sorted(codes):
            responses.setdefault(
                str(code),
                {"content": {"application/json": {"schema": error}}, "description": ERROR_DESCRIPTIONS[code]},
            )
        return responses

    def _error_component(self) -> dict:
        component = ResolvedComponent(name="Error", type=ResolvedComponent.SCHEMA, object="Error", schema=ERROR_SCHEMA)
        self.registry.register_on_missing(component)
        return component.ref


def _storable(schema: dict, *, blank: bool) -> None:
    """A free-text string's pattern: what the API stores (and so accepts)."""
    types = schema.get("type")
    if (
        "string" in (types if isinstance(types, list) else [types])
        and not {"enum", "format", "pattern"} & schema.keys()
    ):
        schema["pattern"] = STORABLE_TEXT if blank else STORABLE_NONBLANK
        if not blank:
            schema.setdefault("minLength", 1)


def _merge(schema: dict, extra: dict) -> None:
    """A serializer's `openapi_request_schema` merged in, dict by dict (what drf-spectacular cannot infer: the
    items of a JSON field, conditional requirements, the bounds of a nested list)."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(schema.get(key), dict):
            _merge(schema[key], value)
        else:
            schema[key] = value


class ServiceKeyScheme(OpenApiAuthenticationExtension):
    target_class = "workforce.api.auth.ServiceKeyAuthentication"
    name = "ServiceKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`; keys are issued by the Director and carry one role.",
        }
