"""OpenAPI descriptions drf-spectacular cannot infer: the service key scheme, and every operation's errors."""

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import ResolvedComponent

from aura_project.validation import MAX_JSON_DEPTH

ERROR_DESCRIPTIONS = {
    400: f"Bad input. The body names each field at fault (nested ones as `reports[3].logs[0]`, `metrics.accuracy`); "
    f"a body that is not JSON, or JSON nested more than {MAX_JSON_DEPTH} levels deep, is named under `detail`.",
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
